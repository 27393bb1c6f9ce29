// The task sidebar: newest activity first, a live status badge per row, filters by agent
// and status, a search by name, more rows on scroll.
import { html, useEffect, useRef, useState } from "./vendor/preact-htm.js";
import { get } from "./api.js";
import { events, LISTED_STATUSES, navigate, relativeTime, statusWords, taskLabel } from "./util.js";

const PAGE = 30;
/** The first page is re-read this often: status changes of tasks not open in this page
 * (every change moves its task to the top, so the first page shows them all). */
const REFRESH_MS = 5000;
const EMPTY = "No tasks yet. Start one from the prompt.";

function query(filters, page) {
  const q = new URLSearchParams({ limit: String(PAGE), page_number: String(page), relationships: "agents" });
  if (filters.agent) q.set("agent_name", filters.agent);
  if (filters.status) q.set("status", filters.status);
  return `/tasks?${q}`;
}

function byActivity(a, b) {
  return Date.parse(b.updated_at) - Date.parse(a.updated_at) || Date.parse(b.created_at) - Date.parse(a.created_at);
}

function matches(task, filters) {
  if (filters.status && task.status !== filters.status) return false;
  if (task.status === "DELETED") return false;
  if (filters.agent && task.agents && !task.agents.some((a) => a.name === filters.agent)) return false;
  return true;
}

/** Rows merged by id, the newer version winning (a stream update may beat a list read). */
function mergeRows(rows, incoming) {
  const byId = new Map(rows.map((t) => [t.id, t]));
  for (const t of incoming) {
    const old = byId.get(t.id);
    if (!old || (t.version ?? 0) >= (old.version ?? 0)) byId.set(t.id, { ...old, ...t, agents: t.agents || (old && old.agents) });
  }
  return [...byId.values()].sort(byActivity);
}

function useTaskList(filters) {
  const [state, setState] = useState({ rows: [], page: 0, more: true, loading: false, error: null });
  const current = useRef(state);
  current.current = state;
  const key = `${filters.agent}|${filters.status}`;
  // Bumped on every filter change: a read still in flight for the old filters must not
  // merge its rows (of other statuses or agents) into the new list.
  const generation = useRef(0);

  const loadPage = async (page, reset) => {
    const mine = generation.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const rows = await get(query(filters, page));
      if (mine !== generation.current) return;
      setState((s) => ({
        rows: reset ? rows.sort(byActivity) : mergeRows(s.rows, rows),
        page: Math.max(page, reset ? page : s.page),
        // A refresh of the first page says nothing about the pages after it.
        more: reset || page > 1 ? rows.length === PAGE : s.more,
        loading: false,
        error: null,
      }));
    } catch (e) {
      if (mine !== generation.current) return;
      setState((s) => ({ ...s, loading: false, error: e.message, more: false }));
    }
  };

  useEffect(() => {
    generation.current += 1;
    // Keep the rows that still match while the first page loads: no empty flash.
    setState((s) => ({ rows: s.rows.filter((t) => matches(t, filters)), page: 0, more: true, loading: false, error: null }));
    loadPage(1, true);
    const timer = setInterval(() => {
      if (document.visibilityState === "visible" && !current.current.error) loadPage(1, false);
    }, REFRESH_MS);
    const onTask = (e) => {
      const task = e.detail;
      setState((s) => {
        const known = s.rows.some((t) => t.id === task.id);
        if (!known && !matches(task, filters)) return s;
        const rows = mergeRows(s.rows, [task]).filter((t) => matches(t, filters));
        return { ...s, rows };
      });
    };
    events.addEventListener("task", onTask);
    return () => {
      clearInterval(timer);
      events.removeEventListener("task", onTask);
    };
  }, [key]);

  const more = () => {
    const s = current.current;
    if (s.more && !s.loading && !s.error) loadPage(s.page + 1, false);
  };
  return [state, more];
}

function TaskRow({ task, selected, now }) {
  const agent = task.agents && task.agents[0];
  const open = (e) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; // new tab etc.
    e.preventDefault();
    navigate(`/ui/tasks/${task.id}`);
  };
  return html`<li>
    <a href=${`/ui/tasks/${task.id}`} class=${`task-row${selected ? " selected" : ""}`}
      aria-current=${selected ? "page" : undefined} onClick=${open} data-task-id=${task.id}>
      <span class="task-row-top">
        <span class="task-label">${taskLabel(task)}</span>
        <span class="badge" data-status=${task.status} title=${task.status_reason || ""}>${statusWords(task.status)}</span>
      </span>
      <span class="task-row-meta">
        ${agent ? agent.name : "no agent"} ·
        <time datetime=${task.updated_at}>${relativeTime(task.updated_at, now)}</time>
      </span>
    </a>
  </li>`;
}

export function Sidebar({ agents, taskId, open, onNewTask, children }) {
  const [filters, setFilters] = useState({ agent: "", status: "" });
  const [search, setSearch] = useState("");
  const [state, more] = useTaskList(filters);
  const [, setTick] = useState(0);
  const sentinel = useRef(null);

  useEffect(() => {
    // Re-render now and then so "2 minutes ago" stays true.
    const timer = setInterval(() => setTick((t) => t + 1), 30_000);
    return () => clearInterval(timer);
  }, []);

  const now = Date.now();
  const needle = search.trim().toLowerCase();
  const rows = needle
    ? state.rows.filter((t) => `${taskLabel(t)} ${t.name || ""}`.toLowerCase().includes(needle))
    : state.rows;

  // More rows when the end of the list scrolls into view; while searching, keep reading
  // pages (the search runs over loaded rows) until the list fills or the server runs out.
  useEffect(() => {
    const el = sentinel.current;
    if (!el) return undefined;
    const seen = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && more());
    seen.observe(el);
    return () => seen.disconnect();
  }, [state.rows.length, state.more, needle]);

  const filtered = Boolean(filters.agent || filters.status || needle);
  const set = (k) => (e) => setFilters({ ...filters, [k]: e.currentTarget.value });
  return html`<aside class=${`sidebar${open ? " open" : ""}`} aria-label="Tasks" id="sidebar">
    <div class="sidebar-head">
      <button type="button" class="primary wide" onClick=${onNewTask} title="Ctrl+K / ⌘K">New task</button>
      <label class="visually-hidden" for="task-search">Search tasks</label>
      <input id="task-search" type="search" placeholder="Search by name" value=${search}
        onInput=${(e) => setSearch(e.currentTarget.value)} />
      <div class="filters">
        <label class="visually-hidden" for="filter-agent">Agent filter</label>
        <select id="filter-agent" value=${filters.agent} onChange=${set("agent")}>
          <option value="">All agents</option>
          ${agents.map((a) => html`<option value=${a.name}>${a.name}</option>`)}
        </select>
        <label class="visually-hidden" for="filter-status">Status filter</label>
        <select id="filter-status" value=${filters.status} onChange=${set("status")}>
          <option value="">All statuses</option>
          ${LISTED_STATUSES.map((s) => html`<option value=${s}>${statusWords(s)}</option>`)}
        </select>
      </div>
    </div>
    <nav class="task-list" aria-label="Task list" aria-busy=${state.loading ? "true" : "false"}>
      ${state.error && html`<p class="problem" role="alert">${state.error}</p>`}
      <ul>${rows.map((t) => html`<${TaskRow} key=${t.id} task=${t} selected=${t.id === taskId} now=${now} />`)}</ul>
      ${!state.loading && !state.error && rows.length === 0 && !state.more &&
      html`<p class="empty">${filtered ? "No tasks match these filters." : EMPTY}</p>`}
      ${state.loading && html`<p class="muted small loading">Loading tasks…</p>`}
      <div ref=${sentinel} class="sentinel" aria-hidden="true"></div>
    </nav>
    ${children}
  </aside>`;
}
