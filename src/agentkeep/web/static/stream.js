// A task's live stream (streaming.md): opened with ?ids=1 so every frame carries an id and
// the browser's own reconnect sends Last-Event-ID; closed by the page itself right after a
// terminal task_updated, so a finished task never becomes a reconnect loop.
import { TERMINAL } from "./util.js";

const MAX_BACKOFF_MS = 10_000;

export class TaskStream {
  /**
   * handlers: connected(), task(task), update(event), error(message), state(text),
   * shouldReconnect() -> Promise<boolean> (asked when the browser has given up).
   */
  constructor(taskId, handlers) {
    this.taskId = taskId;
    this.h = handlers;
    this.lastId = null;
    this.closed = false;
    this.failures = 0;
    this.timer = null;
    this.open();
  }

  open() {
    let url = `/tasks/${encodeURIComponent(this.taskId)}/stream?ids=1`;
    // Only a stream we reopen ourselves needs the cursor in the URL: on its own reconnects
    // the browser sends the Last-Event-ID header.
    if (this.lastId) url += `&last_event_id=${encodeURIComponent(this.lastId)}`;
    const source = new EventSource(url);
    this.source = source;
    source.onmessage = (e) => this.receive(e);
    source.onerror = () => this.failed(source);
  }

  receive(e) {
    if (this.closed) return;
    if (e.lastEventId) this.lastId = e.lastEventId;
    let event;
    try {
      event = JSON.parse(e.data);
    } catch {
      return; // not ours to render
    }
    if (event.type === "connected") {
      this.failures = 0;
      this.h.state("live");
      this.h.connected();
    } else if (event.type === "task_updated") {
      this.h.task(event.task);
      if (TERMINAL.has(event.task.status)) this.close();
    } else if (event.type === "error") {
      this.h.error(event.message);
    } else {
      this.h.update(event);
    }
  }

  failed(source) {
    if (this.closed || source !== this.source) return;
    this.h.state("reconnecting");
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    // The browser gave up (an HTTP error, or 204 at the end of a finished task's stream):
    // ask the page whether the task still warrants a stream, with a growing pause.
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.failures);
    this.failures += 1;
    this.timer = setTimeout(async () => {
      if (!this.closed && (await this.h.shouldReconnect()) && !this.closed) this.open();
    }, delay);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.h.state("closed");
  }
}
