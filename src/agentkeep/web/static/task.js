// One task's page: header, conversation (live), prompt, and its side panels.
import { html, useEffect, useLayoutEffect, useRef, useState } from "./vendor/preact-htm.js";
import { get, rpc, rpcStreamed } from "./api.js";
import { awaitingAnswer, Conversation, turnsOf } from "./conversation.js";
import { CopyButton, Turns } from "./messages.js";
import { EndTask, History, Panel, Spans } from "./panels.js";
import { Prompt } from "./prompt.js";
import { TaskStream } from "./stream.js";
import { announceTask, promptState, statusWords, taskLabel, TERMINAL } from "./util.js";

const PAGE = 30;
const NEAR_EDGE_PX = 48;
/** First turns typed on the home view, sent once this task's stream is connected. */
export const pendingTurns = new Map();

function useTask(taskId) {
  const [task, setTaskState] = useState(null);
  const [problem, setProblem] = useState(null);
  const current = useRef(taskId);
  current.current = taskId;
  // Stream frames, list reads and transition answers interleave: the higher version wins,
  // and an answer about a task this view no longer shows is dropped.
  const setTask = (next) => {
    announceTask(next);
    if (next.id !== current.current) return;
    setTaskState((prev) => {
      if (!prev || prev.id !== next.id) return next;
      return (prev.version ?? 0) > (next.version ?? 0) ? prev : { ...prev, ...next };
    });
  };
  useEffect(() => {
    setTaskState(null);
    setProblem(null);
    get(`/tasks/${encodeURIComponent(taskId)}?relationships=agents`).then(setTask, (e) => setProblem(e));
  }, [taskId]);
  return [task, setTask, problem];
}

/** Whether a FAILED sync task failed by an agent error (the next turn resumes it). */
function useAgentFailure(task, agent) {
  const [failure, setFailure] = useState(false);
  useEffect(() => {
    setFailure(false);
    if (!task || task.status !== "FAILED" || !agent || agent.acp_type !== "sync") return;
    get(`/tasks/${task.id}/history`).then(
      (rows) => {
        const last = rows[rows.length - 1];
        setFailure(Boolean(last && last.to_status === "FAILED" && last.actor === "system:acp"));
      },
      () => setFailure(false),
    );
  }, [task && task.id, task && task.version, agent && agent.acp_type]);
  return failure;
}

function useScroller(conv, version) {
  const box = useRef(null);
  const stick = useRef(true);
  const anchor = useRef(null);
  const [away, setAway] = useState(false);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    if (anchor.current !== null) {
      // Older messages were added above: keep the same message under the reader's eyes.
      el.scrollTop += el.scrollHeight - anchor.current;
      anchor.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [version]);
  const onScroll = (loadOlder) => () => {
    const el = box.current;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_EDGE_PX;
    setAway(!stick.current);
    if (el.scrollTop < NEAR_EDGE_PX) loadOlder(() => (anchor.current = el.scrollHeight));
  };
  const toBottom = () => {
    stick.current = true;
    setAway(false);
    box.current.scrollTo({ top: box.current.scrollHeight, behavior: "smooth" });
  };
  return { box, away, onScroll, toBottom };
}

function useConversation(taskId) {
  const conv = useRef(null);
  const paging = useRef({ cursor: null, more: false, loading: false });
  const [version, setVersion] = useState(0);
  if (!conv.current || conv.current.taskId !== taskId) {
    conv.current = Object.assign(new Conversation(), { taskId });
    paging.current = { cursor: null, more: false, loading: false, first: true };
  }
  const bump = () => setVersion((v) => v + 1);
  const page = (cursor) => {
    const q = new URLSearchParams({ task_id: taskId, limit: String(PAGE), direction: "older" });
    if (cursor) q.set("cursor", cursor);
    return get(`/messages/paginated?${q}`);
  };
  const loadNewest = async () => {
    const mine = conv.current;
    const body = await page(null);
    if (conv.current !== mine) return;
    body.data.forEach((m) => mine.merge(m));
    if (paging.current.first) paging.current = { cursor: body.next_cursor, more: body.has_more, loading: false };
    bump();
  };
  const loadOlder = async (beforeRender) => {
    const p = paging.current;
    if (!p.more || p.loading) return;
    p.loading = true;
    const mine = conv.current;
    try {
      const body = await page(p.cursor);
      if (conv.current !== mine) return;
      beforeRender();
      body.data.forEach((m) => mine.merge(m));
      paging.current = { cursor: body.next_cursor, more: body.has_more, loading: false };
      bump();
    } catch {
      p.loading = false;
    }
  };
  const apply = (event) => {
    conv.current.apply(event);
    bump();
  };
  return { conv: conv.current, version, loadNewest, loadOlder, apply, paging };
}

function TaskHeader({ task, agent, panel, setPanel, onMenu, streamState }) {
  const toggle = (name) => () => setPanel(panel === name ? null : name);
  return html`<header class="task-head">
    <button type="button" class="ghost menu" onClick=${onMenu} aria-label="Show tasks" aria-controls="sidebar">☰</button>
    <div class="task-head-main">
      <h1 class="task-title">${taskLabel(task)}</h1>
      <div class="task-meta">
        <span class="badge" data-status=${task.status} id="task-status">${statusWords(task.status)}</span>
        <span>${agent ? `${agent.name} (${agent.acp_type})` : "no agent"}</span>
        <code class="task-id" title="Task id">${task.id}</code>
        <${CopyButton} text=${task.id} label="Copy task id" />
        ${!TERMINAL.has(task.status) && html`<span class=${`live ${streamState}`}>${streamState}</span>`}
      </div>
      ${task.status_reason && html`<p class="status-reason muted small">${task.status_reason}</p>`}
    </div>
    <div class="task-actions">
      <button type="button" aria-expanded=${panel === "end"} onClick=${toggle("end")}>End task</button>
      <button type="button" aria-expanded=${panel === "history"} onClick=${toggle("history")}>History</button>
      <button type="button" aria-expanded=${panel === "spans"} onClick=${toggle("spans")}>Spans</button>
    </div>
  </header>`;
}

function useStream(taskId, task, setTask, loadNewest, apply, setNotice, sendPending) {
  const [state, setState] = useState("connecting");
  const opened = task !== null && task.id === taskId;
  const terminalAtLoad = opened && TERMINAL.has(task.status);
  useEffect(() => {
    if (!opened) return undefined;
    if (terminalAtLoad) {
      // A finished task's stream has nothing more to say: read the conversation once.
      loadNewest().catch((e) => setNotice(e.message));
      return undefined;
    }
    const stream = new TaskStream(taskId, {
      connected: () => loadNewest().then(sendPending, (e) => setNotice(e.message)),
      task: setTask,
      update: apply,
      error: (message) => setNotice(`Stream: ${message}`),
      state: setState,
      shouldReconnect: async () => {
        try {
          const fresh = await get(`/tasks/${encodeURIComponent(taskId)}`);
          setTask(fresh);
          return !TERMINAL.has(fresh.status);
        } catch {
          return false;
        }
      },
    });
    return () => stream.close();
  }, [taskId, opened, terminalAtLoad]);
  return state;
}

export function TaskView({ taskId, onMenu }) {
  const [task, setTask, loadProblem] = useTask(taskId);
  const { conv, version, loadNewest, loadOlder, apply } = useConversation(taskId);
  const [notice, setNotice] = useState(null);
  const [sending, setSending] = useState(false);
  const [panel, setPanel] = useState(null);
  const agent = task && task.agents && task.agents[0];
  const agentFailure = useAgentFailure(task, agent);
  const { box, away, onScroll, toBottom } = useScroller(conv, version);

  const send = async ({ content }) => {
    setNotice(null);
    setSending(true);
    try {
      if (agent.acp_type === "sync") {
        await rpcStreamed(agent.name, "message/send", { task_id: taskId, content, stream: true });
      } else {
        await rpc(agent.name, "event/send", { task_id: taskId, content });
      }
    } finally {
      setSending(false);
      // The stream carried the turn; one read settles anything it could not (a drop).
      await loadNewest().catch(() => {});
      // A turn on a task an agent error FAILED resumes it, but that task's stream had
      // ended: read the task, and a running task gets its stream back.
      if (TERMINAL.has(task.status)) await get(`/tasks/${taskId}`).then(setTask, () => {});
    }
  };
  const sendPending = () => {
    const first = pendingTurns.get(taskId);
    if (!first) return;
    pendingTurns.delete(taskId);
    send(first).catch((e) => setNotice(e.message));
  };
  const streamState = useStream(taskId, task, setTask, loadNewest, apply, setNotice, sendPending);

  useEffect(() => {
    setPanel(null);
    setNotice(null);
  }, [taskId]);

  if (loadProblem) {
    const text = loadProblem.status === 404 ? `Task ${taskId} not found.` : loadProblem.message;
    return html`<div class="task-missing"><p class="problem" role="alert">${text}</p></div>`;
  }
  if (!task) return html`<div class="task-missing"><p class="muted">Loading task…</p></div>`;

  const messages = conv.list();
  const turns = turnsOf(messages);
  const thinking = sending && Boolean(agent) && (agent.acp_type !== "sync" || awaitingAnswer(turns));
  const { writable, placeholder } = agent
    ? promptState(task, agentFailure)
    : { writable: false, placeholder: "This task has no agent" };
  const panelTitle = { end: "End task", history: "History", spans: "Spans" }[panel];

  return html`<div class="task-shell"><div class="task-view">
    <${TaskHeader} task=${task} agent=${agent} panel=${panel} setPanel=${setPanel} onMenu=${onMenu} streamState=${streamState} />
    ${notice && html`<p class="problem banner" role="alert">${notice}
      <button type="button" class="ghost small" onClick=${() => setNotice(null)}>Dismiss</button></p>`}
    <div class="conversation" ref=${box} onScroll=${onScroll(loadOlder)} tabindex="0" aria-label="Conversation">
      ${messages.length === 0 && !thinking && html`<p class="muted empty">No messages yet.</p>`}
      <${Turns} turns=${turns} messages=${messages} thinking=${thinking && turns.length > 0} />
      ${thinking && turns.length === 0 && html`<div class="thinking" role="status">Thinking…</div>`}
    </div>
    ${away && html`<button type="button" class="jump" onClick=${toBottom}>↓ Latest</button>`}
    <${Prompt} writable=${writable} placeholder=${placeholder} onSend=${send}
      jsonDefault=${agent && agent.agent_input_type === "json"} focusKey=${taskId} />
    </div>
    ${panel &&
    html`<${Panel} title=${panelTitle} onClose=${() => setPanel(null)}>
      ${panel === "end" && html`<${EndTask} task=${task} onTask=${setTask} />`}
      ${panel === "history" && html`<${History} task=${task} />`}
      ${panel === "spans" && html`<${Spans} task=${task} />`}
    </${Panel}>`}
  </div>`;
}
