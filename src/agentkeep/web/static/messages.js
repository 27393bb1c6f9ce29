// The conversation view: turns, each message by content type, and the thinking indicator.
import { html, useState } from "./vendor/preact-htm.js";
import { renderMarkdown } from "./markdown.js";
import { responsesByCall } from "./conversation.js";

export function JsonView({ value, label, open = false }) {
  return html`<details class="json" open=${open}>
    <summary>${label}</summary>
    <pre><code>${JSON.stringify(value, null, 2)}</code></pre>
  </details>`;
}

function TextMessage({ message }) {
  const c = message.content;
  const streaming = message.streaming_status === "IN_PROGRESS";
  const body =
    c.format === "code"
      ? html`<pre><code>${c.content}</code></pre>`
      : html`<div class="md" dangerouslySetInnerHTML=${{ __html: renderMarkdown(c.content) }} />`;
  return html`<div class=${`msg text ${c.author}${streaming ? " streaming" : ""}`}
      data-message-id=${message.id} data-author=${c.author}>
    ${body}
  </div>`;
}

function DataMessage({ message }) {
  const c = message.content;
  return html`<div class=${`msg data ${c.author}`} data-message-id=${message.id} data-author=${c.author}>
    <${JsonView} value=${c.data} label=${c.author === "user" ? "JSON sent" : "Data"} />
  </div>`;
}

function ReasoningMessage({ message }) {
  const c = message.content;
  const streaming = message.streaming_status === "IN_PROGRESS";
  const summary = (c.summary || []).filter(Boolean);
  const details = (c.content || []).filter(Boolean);
  return html`<details class="msg reasoning" data-message-id=${message.id} data-author="agent">
    <summary>${streaming ? "Reasoning…" : "Reasoning"}</summary>
    ${summary.map((s) => html`<div class="md" dangerouslySetInnerHTML=${{ __html: renderMarkdown(s) }} />`)}
    ${details.length > 0 && html`<div class="reasoning-content">${details.map((s) => html`<p>${s}</p>`)}</div>`}
  </details>`;
}

function ToolPair({ request, response }) {
  const c = request.content;
  const failed = response && response.content.is_error;
  const state = !response ? "pending" : failed ? "error" : "done";
  const word = { pending: "running…", error: "failed", done: "done" }[state];
  const answer = response && response.content.content;
  return html`<details class=${`msg tool ${state}`} data-message-id=${request.id}
      data-tool-call-id=${c.tool_call_id} data-author="agent">
    <summary>
      <span class="tool-name">${c.name || "tool"}</span>
      <span class=${`tool-state ${state}`}>${word}</span>
    </summary>
    <${JsonView} value=${c.arguments} label="Arguments" />
    ${response &&
    html`<div class="tool-response">
      <div class="tool-response-label">${failed ? "Error" : "Response"}</div>
      ${typeof answer === "string"
        ? html`<pre><code>${answer}</code></pre>`
        : html`<${JsonView} value=${answer} label="Response" open=${true} />`}
    </div>`}
  </details>`;
}

/** A tool response whose request is not in view (on an older page): shown on its own. */
function LoneToolResponse({ message }) {
  const c = message.content;
  return html`<div class=${`msg tool ${c.is_error ? "error" : "done"}`} data-message-id=${message.id}>
    <span class="tool-name">${c.name || "tool"}</span> response
    <pre><code>${typeof c.content === "string" ? c.content : JSON.stringify(c.content, null, 2)}</code></pre>
  </div>`;
}

function Message({ message, responses, requests }) {
  const c = message.content || {};
  switch (c.type) {
    case "text":
      return html`<${TextMessage} message=${message} />`;
    case "data":
      return html`<${DataMessage} message=${message} />`;
    case "reasoning":
      return html`<${ReasoningMessage} message=${message} />`;
    case "tool_request":
      return html`<${ToolPair} request=${message} response=${responses.get(c.tool_call_id)} />`;
    case "tool_response":
      // Shown with its request; alone only when the request is not loaded.
      return requests.has(c.tool_call_id) ? null : html`<${LoneToolResponse} message=${message} />`;
    default:
      return html`<${JsonView} value=${c} label=${`Unknown content (${c.type})`} />`;
  }
}

export function Turns({ turns, messages, thinking }) {
  const responses = responsesByCall(messages);
  const requests = new Set(
    messages.filter((m) => m.content && m.content.type === "tool_request").map((m) => m.content.tool_call_id),
  );
  return html`${turns.map(
    (turn, i) => html`<section class=${`turn${turn.user ? "" : " agent-only"}`} key=${turn.id}
        aria-label=${turn.user ? "Turn" : "Agent turn"} data-turn=${i}>
      ${turn.user && html`<${Message} message=${turn.user} responses=${responses} requests=${requests} />`}
      ${turn.agent.map(
        (m) => html`<${Message} key=${m.id} message=${m} responses=${responses} requests=${requests} />`,
      )}
      ${thinking && i === turns.length - 1 && html`<div class="thinking" role="status">Thinking…</div>`}
    </section>`,
  )}`;
}

export function CopyButton({ text, label }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  };
  return html`<button type="button" class="ghost small" onClick=${copy} title=${label}>
    ${copied ? "Copied" : "Copy id"}
  </button>`;
}
