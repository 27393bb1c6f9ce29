// The UI's root: routes (/ui, /ui/tasks/{id}), agents, theme, the API-key dialog, and
// the keyboard shortcut (Ctrl/⌘+K: new task).
import { html, render, useEffect, useRef, useState } from "./vendor/preact-htm.js";
import { api, get, onAuthRequired } from "./api.js";
import { HomeView } from "./home.js";
import { Sidebar } from "./sidebar.js";
import { TaskView } from "./task.js";
import { events, navigate, storage } from "./util.js";

function route() {
  const match = location.pathname.match(/^\/ui\/tasks\/([^/]+)\/?$/);
  return match ? decodeURIComponent(match[1]) : null;
}

function useRoute() {
  const [taskId, setTaskId] = useState(route());
  useEffect(() => {
    const update = () => setTaskId(route());
    window.addEventListener("popstate", update);
    events.addEventListener("navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      events.removeEventListener("navigate", update);
    };
  }, []);
  return taskId;
}

function useAgents() {
  const [state, setState] = useState({ agents: [], error: null });
  useEffect(() => {
    get("/agents?limit=1000").then(
      (agents) => setState({ agents, error: null }),
      (e) => setState({ agents: [], error: e.message }),
    );
  }, []);
  return state;
}

const THEMES = ["system", "light", "dark"];

function ThemeToggle() {
  const [theme, setTheme] = useState(storage.get("theme") || "system");
  const next = () => {
    const t = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    storage.set("theme", t === "system" ? null : t);
    if (t === "system") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = t;
    setTheme(t);
  };
  return html`<button type="button" class="ghost small" onClick=${next}
    aria-label=${`Theme: ${theme}. Switch theme`}>Theme: ${theme}</button>`;
}

/** Asks once for an API key and hands it to the server, which keeps it in an HttpOnly
 * cookie (the page never stores it; the API and the stream read the cookie). */
function KeyDialog({ open, onClose }) {
  const dialog = useRef(null);
  const [key, setKey] = useState("");
  const [problem, setProblem] = useState(null);
  useEffect(() => {
    const d = dialog.current;
    if (open && d && !d.open) d.showModal();
    if (!open && d && d.open) d.close();
  }, [open]);
  const submit = async (e) => {
    e.preventDefault();
    setProblem(null);
    try {
      await api("POST", "/auth/session", { api_key: key.trim() });
      setKey("");
      location.reload();
    } catch (err) {
      setProblem(err.status === 401 ? "That key was not accepted. Check it and try again." : err.message);
    }
  };
  return html`<dialog ref=${dialog} class="key-dialog" aria-labelledby="key-title" onClose=${onClose}>
    <form onSubmit=${submit}>
      <h2 id="key-title">API key needed</h2>
      <p>This server requires an API key. It is kept in an HttpOnly cookie for this site.</p>
      <label for="api-key">API key</label>
      <input id="api-key" type="password" autocomplete="off" value=${key} required
        onInput=${(e) => setKey(e.currentTarget.value)} />
      ${problem && html`<p class="problem" role="alert">${problem}</p>`}
      <div class="dialog-actions">
        <button type="submit" class="primary">Use key</button>
      </div>
    </form>
  </dialog>`;
}

async function forgetKey() {
  try {
    // A JSON body on purpose: the server accepts cookie-authenticated changes only with a
    // JSON content type from this origin (its CSRF rule).
    await api("DELETE", "/auth/session", {});
  } finally {
    location.reload();
  }
}

function App() {
  const taskId = useRoute();
  const { agents, error } = useAgents();
  const [chosen, setChosen] = useState(storage.get("agent"));
  const [menu, setMenu] = useState(false);
  const [askKey, setAskKey] = useState(false);
  const [focusKey, setFocusKey] = useState(0);

  useEffect(() => onAuthRequired(() => setAskKey(true)), []);
  useEffect(() => setMenu(false), [taskId]);
  const newTask = () => {
    navigate("/ui");
    setFocusKey((k) => k + 1);
  };
  useEffect(() => {
    const onKey = (e) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k") {
        e.preventDefault();
        newTask();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  useEffect(() => {
    // The remembered agent may be gone or not ready; fall back to the first ready one.
    const ready = agents.filter((a) => a.status === "Ready");
    if (ready.length && !ready.some((a) => a.name === chosen)) setChosen(ready[0].name);
  }, [agents]);

  const toggleMenu = () => setMenu((m) => !m);
  return html`<div class="layout">
    <a class="skip" href="#main">Skip to content</a>
    <${Sidebar} agents=${agents} taskId=${taskId} open=${menu} onNewTask=${newTask}>
      <footer class="app-foot">
        <span class="brand">agentkeep</span>
        <${ThemeToggle} />
        <button type="button" class="ghost small" onClick=${forgetKey}>Forget API key</button>
        <a href="/swagger" class="small">API docs</a>
      </footer>
    </${Sidebar}>
    ${menu && html`<div class="scrim" onClick=${() => setMenu(false)} aria-hidden="true"></div>`}
    <main id="main" tabindex="-1">
      ${taskId
        ? html`<${TaskView} key=${taskId} taskId=${taskId} onMenu=${toggleMenu} />`
        : html`<${HomeView} agents=${agents} agentsError=${error} chosen=${chosen} onChoose=${setChosen}
            onMenu=${toggleMenu} focusKey=${focusKey} />`}
    </main>
    <${KeyDialog} open=${askKey} onClose=${() => setAskKey(false)} />
  </div>`;
}

render(html`<${App} />`, document.getElementById("app"));
