// The new-task view: choose an agent, write the first prompt (and optional task params).
import { html } from "./vendor/preact-htm.js";
import { rpc } from "./api.js";
import { Prompt } from "./prompt.js";
import { pendingTurns } from "./task.js";
import { announceTask, displayNameOf, navigate, storage } from "./util.js";

function AgentChoice({ agent, chosen, onChoose }) {
  const ready = agent.status === "Ready";
  const id = `agent-${agent.id}`;
  return html`<li class=${`agent-card${ready ? "" : " unavailable"}${chosen ? " chosen" : ""}`}>
    <input type="radio" name="agent" id=${id} value=${agent.name} checked=${chosen}
      disabled=${!ready} onChange=${() => onChoose(agent.name)} aria-describedby=${`${id}-about`} />
    <label for=${id}>
      <span class="agent-name">${agent.name}</span>
      <span class="agent-type">${agent.acp_type}</span>
      <span class="badge" data-status=${agent.status}>${agent.status}</span>
    </label>
    <p class="agent-about muted small" id=${`${id}-about`}>
      ${agent.description || "No description."}
      ${!ready && html` <span class="why">Unavailable: ${agent.status_reason || agent.status}.</span>`}
    </p>
  </li>`;
}

export function AgentPicker({ agents, chosen, onChoose, error }) {
  // BuildOnly agents are built but not deployed: nothing could answer a task.
  const shown = agents.filter((a) => a.status !== "BuildOnly");
  return html`<fieldset class="agents">
    <legend>Agent</legend>
    ${error && html`<p class="problem" role="alert">${error}</p>`}
    ${!error && shown.length === 0 &&
    html`<p class="muted">No agents registered yet. Start one, for example
      <code>agentkeep example-agent --name echo --type sync --port 8011</code>, then reload.</p>`}
    <ul>${shown.map((a) => html`<${AgentChoice} key=${a.id} agent=${a} chosen=${a.name === chosen} onChoose=${onChoose} />`)}</ul>
  </fieldset>`;
}

export function HomeView({ agents, agentsError, chosen, onChoose, onMenu, focusKey }) {
  const agent = agents.find((a) => a.name === chosen && a.status === "Ready");

  const start = async ({ content, params, text }) => {
    const label = content.type === "text" ? text : JSON.stringify(content.data);
    const task = await rpc(agent.name, "task/create", {
      params: params || undefined,
      task_metadata: { display_name: displayNameOf(label) },
    });
    announceTask({ ...task, agents: [agent] });
    pendingTurns.set(task.id, { content });
    navigate(`/ui/tasks/${task.id}`);
  };

  const choose = (name) => {
    storage.set("agent", name);
    onChoose(name);
  };

  return html`<div class="home">
    <header class="task-head">
      <button type="button" class="ghost menu" onClick=${onMenu} aria-label="Show tasks" aria-controls="sidebar">☰</button>
      <div class="task-head-main"><h1 class="task-title">New task</h1></div>
    </header>
    <div class="home-body">
      <${AgentPicker} agents=${agents} chosen=${agent ? agent.name : null} onChoose=${choose} error=${agentsError} />
    </div>
    <${Prompt} writable=${Boolean(agent)} withParams=${true} onSend=${start} focusKey=${focusKey}
      placeholder=${agent ? `Message ${agent.name} to start a task` : "Choose an agent to start"}
      jsonDefault=${agent && agent.agent_input_type === "json"} />
  </div>`;
}
