// Small shared helpers: task labels and statuses, time, storage, app-wide events.

/** Statuses after which a task takes no more changes (lifecycle.md); DELETED included. */
export const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT", "DELETED"]);
/** Statuses offered by the sidebar's status filter (DELETED tasks are never listed). */
export const LISTED_STATUSES = ["RUNNING", "INTERRUPTED", "COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"];

/** "TIMED_OUT" -> "timed out". */
export function statusWords(status) {
  return String(status || "unknown").toLowerCase().replace(/_/g, " ");
}

/** The sidebar and header label: display_name, else name, else "Unnamed task". */
export function taskLabel(task) {
  const display = task && task.task_metadata && task.task_metadata.display_name;
  if (typeof display === "string" && display.trim()) return display;
  if (task && typeof task.name === "string" && task.name) return task.name;
  return "Unnamed task";
}

/** The display_name written at creation: the prompt, whitespace folded, 80 code points. */
export function displayNameOf(prompt) {
  // Slice by code points, never UTF-16 units: a split surrogate pair is not valid JSON text.
  return Array.from(prompt.trim().replace(/\s+/g, " ")).slice(0, 80).join("");
}

/**
 * Whether the prompt takes a turn now, and what its placeholder says otherwise.
 * RUNNING and INTERRUPTED take turns (the next turn resumes an interrupted task); so does a
 * sync agent's task that an agent error FAILED (the server resumes it on the next turn).
 */
export function promptState(task, agentFailure) {
  if (!task) return { writable: false, placeholder: "Loading task…" };
  if (task.status === "RUNNING") return { writable: true, placeholder: "Send a message" };
  if (task.status === "INTERRUPTED") {
    return { writable: true, placeholder: "Task interrupted: send a message to resume" };
  }
  if (task.status === "FAILED" && agentFailure) {
    return { writable: true, placeholder: "Task failed (agent error): send a message to retry" };
  }
  const words = statusWords(task.status);
  return { writable: false, placeholder: `Task ${words}` };
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const STEPS = [
  [60, "second"],
  [60, "minute"],
  [24, "hour"],
  [7, "day"],
  [4.35, "week"],
  [12, "month"],
  [Infinity, "year"],
];

/** "3 minutes ago", from an ISO timestamp. */
export function relativeTime(iso, now = Date.now()) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "";
  // Never "in 2 seconds": a server clock slightly ahead of this one reads as "now".
  let amount = Math.min(0, then - now) / 1000;
  for (const [size, unit] of STEPS) {
    if (Math.abs(amount) < size) return rtf.format(Math.round(amount), unit);
    amount /= size;
  }
  return "";
}

export function absoluteTime(iso) {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? String(iso) : t.toLocaleString();
}

export const storage = {
  get(key) {
    try {
      return localStorage.getItem(`agentkeep.${key}`);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      if (value === null || value === undefined) localStorage.removeItem(`agentkeep.${key}`);
      else localStorage.setItem(`agentkeep.${key}`, value);
    } catch {
      /* storage blocked: nothing is remembered */
    }
  },
};

/** One bus for changes that several views show (a task's row, its header). */
export const events = new EventTarget();

export function announceTask(task) {
  events.dispatchEvent(new CustomEvent("task", { detail: task }));
}

export function navigate(path) {
  if (location.pathname !== path) history.pushState(null, "", path);
  events.dispatchEvent(new Event("navigate"));
}

/** Parses JSON typed by a person; returns {value} or {error: "what to fix"}. */
export function parseJsonObject(text, what) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `${what} is not valid JSON: ${e.message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { error: `${what} must be a JSON object, like {"key": "value"}.` };
  }
  return { value };
}
