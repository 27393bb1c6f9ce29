// Side panels of a task: ending it (with a reason), its history, its spans.
import { html, useEffect, useState } from "./vendor/preact-htm.js";
import { api, get } from "./api.js";
import { JsonView } from "./messages.js";
import { absoluteTime, relativeTime, statusWords } from "./util.js";

const VERBS = [
  ["complete", "Complete"],
  ["fail", "Fail"],
  ["cancel", "Cancel"],
  ["terminate", "Terminate"],
  ["timeout", "Time out"],
];

/**
 * The transition buttons stay usable whatever the page believes the status is: the server
 * decides, and a refusal (someone else ended the task first) is shown with its message.
 */
export function EndTask({ task, onTask }) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState(null);

  const run = async (verb) => {
    setBusy(true);
    setOutcome(null);
    try {
      const body = { reason: reason.trim() || null };
      const updated = await api("POST", `/tasks/${task.id}/${verb}`, body);
      onTask(updated);
      setOutcome({ ok: true, text: `Task ${statusWords(updated.status)}: ${updated.status_reason}` });
      setReason("");
    } catch (e) {
      const current = e.data && e.data.task;
      if (current) onTask(current);
      const status = current ? ` Current status: ${current.status}.` : "";
      setOutcome({ ok: false, text: `${e.message}${status}` });
    } finally {
      setBusy(false);
    }
  };

  const verbs = task.status === "RUNNING" ? [...VERBS, ["interrupt", "Interrupt"]] : VERBS;
  return html`<div class="end-task">
    <label for="end-reason">Reason (optional)</label>
    <input id="end-reason" type="text" value=${reason} maxlength="2000"
      onInput=${(e) => setReason(e.currentTarget.value)} placeholder="Why is it ending?" />
    <div class="verbs" role="group" aria-label="End the task">
      ${verbs.map(
        ([verb, label]) => html`<button type="button" class=${verb === "complete" ? "primary" : ""}
          disabled=${busy} onClick=${() => run(verb)}>${label}</button>`,
      )}
    </div>
    ${outcome && html`<p class=${outcome.ok ? "outcome ok" : "outcome refused"} role="status">${outcome.text}</p>`}
  </div>`;
}

function useLoaded(path, refreshKey) {
  const [state, setState] = useState({ rows: null, error: null });
  useEffect(() => {
    let live = true;
    get(path).then(
      (rows) => live && setState({ rows, error: null }),
      (e) => live && setState({ rows: null, error: e.message }),
    );
    return () => {
      live = false;
    };
  }, [path, refreshKey]);
  return state;
}

export function History({ task }) {
  const { rows, error } = useLoaded(`/tasks/${task.id}/history`, task.version);
  if (error) return html`<p class="problem" role="alert">${error}</p>`;
  if (!rows) return html`<p class="muted">Loading history…</p>`;
  return html`<ol class="history">
    ${[...rows].reverse().map(
      (h) => html`<li key=${h.seq} class="history-row">
        <div class="history-change">
          ${h.from_status ? html`<span class="badge" data-status=${h.from_status}>${h.from_status}</span> → ` : ""}
          <span class="badge" data-status=${h.to_status}>${h.to_status}</span>
        </div>
        <div class="history-why">${h.reason || "(no reason given)"}</div>
        <div class="muted small">
          <span class="history-who">${h.actor}</span> ·
          <time datetime=${h.created_at} title=${absoluteTime(h.created_at)}>${relativeTime(h.created_at)}</time>
          · <span title="request id">${h.request_id}</span>
        </div>
      </li>`,
    )}
  </ol>`;
}

function spanTree(spans) {
  const ids = new Set(spans.map((s) => s.id));
  const children = new Map();
  for (const s of spans) {
    const parent = s.parent_id && ids.has(s.parent_id) ? s.parent_id : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  for (const list of children.values()) list.sort((a, b) => Date.parse(a.start_time) - Date.parse(b.start_time));
  return children;
}

function duration(span) {
  if (!span.end_time) return "running";
  const ms = Date.parse(span.end_time) - Date.parse(span.start_time);
  return Number.isNaN(ms) ? "" : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function SpanNode({ span, children }) {
  const kids = children.get(span.id) || [];
  return html`<li class="span">
    <details>
      <summary><span class="span-name">${span.name}</span> <span class="muted small">${duration(span)}</span></summary>
      <div class="muted small">${absoluteTime(span.start_time)} · trace ${span.trace_id}</div>
      ${span.input != null && html`<${JsonView} value=${span.input} label="Input" />`}
      ${span.output != null && html`<${JsonView} value=${span.output} label="Output" />`}
      ${span.data != null && html`<${JsonView} value=${span.data} label="Data" />`}
    </details>
    ${kids.length > 0 && html`<ul>${kids.map((k) => html`<${SpanNode} key=${k.id} span=${k} children=${children} />`)}</ul>`}
  </li>`;
}

export function Spans({ task }) {
  const { rows, error } = useLoaded(`/spans?task_id=${encodeURIComponent(task.id)}&limit=1000`, task.version);
  if (error) return html`<p class="problem" role="alert">${error}</p>`;
  if (!rows) return html`<p class="muted">Loading spans…</p>`;
  if (rows.length === 0) return html`<p class="muted">No spans recorded for this task.</p>`;
  const children = spanTree(rows);
  return html`<ul class="spans">${(children.get(null) || []).map(
    (s) => html`<${SpanNode} key=${s.id} span=${s} children=${children} />`,
  )}</ul>`;
}

/** A dismissible side panel (a drawer on the right). */
export function Panel({ title, onClose, children }) {
  useEffect(() => {
    const onKey = (e) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return html`<aside class="panel" aria-label=${title}>
    <header class="panel-head">
      <h2>${title}</h2>
      <button type="button" class="ghost" onClick=${onClose} aria-label=${`Close ${title.toLowerCase()}`}>✕</button>
    </header>
    <div class="panel-body">${children}</div>
  </aside>`;
}
