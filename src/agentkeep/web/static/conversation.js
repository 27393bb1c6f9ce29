// The conversation as data: messages keyed by id, folded from REST pages and stream
// updates, grouped into turns. No DOM here.

/** Ordered messages by id; each update returns nothing and bumps ``version``. */
export class Conversation {
  constructor() {
    this.byId = new Map();
    this.buffers = new Map(); // JSON fragments of data / tool arguments still arriving
    this.seq = 0;
    this.version = 0;
  }

  list() {
    return [...this.byId.values()].sort(
      (a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a._seq - b._seq,
    );
  }

  put(message) {
    const old = this.byId.get(message.id);
    this.byId.set(message.id, { ...message, _seq: old ? old._seq : ++this.seq });
    this.version += 1;
  }

  /** A message read over REST. A stored IN_PROGRESS copy is older than what the stream
   * has folded locally (deltas are stored only when the message finishes). */
  merge(message) {
    const local = this.byId.get(message.id);
    if (local && local.streaming_status === "IN_PROGRESS" && message.streaming_status === "IN_PROGRESS") {
      return;
    }
    this.put(message);
  }

  /** A start / delta / full / done event from the task stream. */
  apply(event) {
    const parent = event.parent_task_message;
    if (!parent || !parent.id) return;
    const known = this.byId.get(parent.id);
    if (event.type === "full") {
      // Idempotent replace: a message published twice (server and agent) shows once.
      this.buffers.delete(parent.id);
      this.put({ ...(known || parent), ...parent, content: event.content, streaming_status: "DONE" });
    } else if (event.type === "start") {
      this.put({ ...parent, content: event.content || parent.content, streaming_status: "IN_PROGRESS" });
    } else if (event.type === "delta") {
      const base = known || { ...parent, streaming_status: "IN_PROGRESS" };
      this.put({ ...base, content: this.fold(parent.id, base.content || {}, event.delta || {}) });
    } else if (event.type === "done") {
      this.buffers.delete(parent.id);
      if (known) this.put({ ...known, streaming_status: "DONE" });
      else this.put({ ...parent, streaming_status: "DONE" });
    }
  }

  /** One delta folded into content, like the server's fold (acp/fold.py). */
  fold(id, content, delta) {
    const next = { ...content };
    const concat = (key, piece) => {
      if (piece) next[key] = (typeof next[key] === "string" ? next[key] : "") + piece;
    };
    const json = (key, piece) => {
      if (!piece) return;
      const text = (this.buffers.get(id) || "") + piece;
      this.buffers.set(id, text);
      try {
        next[key] = JSON.parse(text);
      } catch {
        /* incomplete: keep the last complete value */
      }
    };
    const item = (key, index, piece) => {
      if (!Number.isInteger(index) || index < 0 || index > 1000 || !piece) return;
      const items = Array.isArray(next[key]) ? [...next[key]] : [];
      while (items.length <= index) items.push("");
      items[index] += piece;
      next[key] = items;
    };
    switch (delta.type) {
      case "text": concat("content", delta.text_delta); break;
      case "data": json("data", delta.data_delta); break;
      case "tool_request": json("arguments", delta.arguments_delta); break;
      case "tool_response": concat("content", delta.content_delta); break;
      case "reasoning_summary": item("summary", delta.summary_index, delta.summary_delta); break;
      case "reasoning_content": item("content", delta.content_index, delta.content_delta); break;
      default: break;
    }
    return next;
  }
}

/**
 * Turns: a user message and the agent messages after it. Agent messages that no user
 * message precedes (an agent greeting on task/create) form a turn of their own.
 */
export function turnsOf(messages) {
  const turns = [];
  let turn = null;
  for (const m of messages) {
    const author = m.content && m.content.author;
    if (author === "user" || !turn) {
      turn = { id: m.id, user: author === "user" ? m : null, agent: [] };
      turns.push(turn);
      if (author === "user") continue;
    }
    turn.agent.push(m);
  }
  return turns;
}

/** tool_call_id -> the tool_response message that answers it. */
export function responsesByCall(messages) {
  const out = new Map();
  for (const m of messages) {
    if (m.content && m.content.type === "tool_response") out.set(m.content.tool_call_id, m);
  }
  return out;
}

/** Whether the last turn is a user message still waiting for the agent's answer. */
export function awaitingAnswer(turns) {
  const last = turns[turns.length - 1];
  if (!last || !last.user) return false;
  const answer = last.agent[last.agent.length - 1];
  if (!answer) return true;
  if (answer.streaming_status === "IN_PROGRESS") return false; // it is visibly answering
  return answer.content.type !== "text" && answer.content.type !== "data";
}
