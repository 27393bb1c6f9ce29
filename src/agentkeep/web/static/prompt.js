// The prompt: a textbox named "Prompt" and a "Send" button (their accessible names are part
// of the contract). Enter sends, Shift+Enter is a newline, and Enter that confirms an IME
// composition is left to the IME.
import { html, useEffect, useRef, useState } from "./vendor/preact-htm.js";
import { parseJsonObject } from "./util.js";

const MAX_HEIGHT_PX = 200;
const JSON_TEMPLATE = "{\n  \n}";

/**
 * props: writable, placeholder, jsonDefault (agent takes JSON), withParams (new task),
 * onSend({content, params}) -> Promise (rejects with an Error to show), focusKey.
 */
export function Prompt(props) {
  const [text, setText] = useState("");
  const [json, setJson] = useState(Boolean(props.jsonDefault));
  const [params, setParams] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const box = useRef(null);

  useEffect(() => setJson(Boolean(props.jsonDefault)), [props.jsonDefault]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);
  useEffect(() => {
    if (props.writable && box.current) box.current.focus();
  }, [props.focusKey, props.writable]);

  const disabled = !props.writable;

  const build = () => {
    if (json) {
      const parsed = parseJsonObject(text, "The message");
      if (parsed.error) return parsed;
      return { content: { type: "data", author: "user", data: parsed.value } };
    }
    return { content: { type: "text", author: "user", format: "plain", content: text } };
  };

  const submit = async () => {
    if (disabled || busy || !text.trim()) return;
    const built = build();
    if (built.error) return setProblem(built.error);
    let taskParams = null;
    if (props.withParams && params.trim()) {
      const parsed = parseJsonObject(params, "Task params");
      if (parsed.error) return setProblem(parsed.error);
      taskParams = parsed.value;
    }
    setProblem(null);
    setBusy(true);
    const sent = text;
    setText("");
    try {
      await props.onSend({ content: built.content, params: taskParams, text: sent });
    } catch (e) {
      // Keep what the person typed: nothing was lost by a failed send.
      setText((now) => now || sent);
      setProblem(e.message || String(e));
    } finally {
      setBusy(false);
    }
  };

  const onKeyDown = (e) => {
    // keyCode 229: Enter pressed while an IME composition is open (Safari reports
    // isComposing false on the final keydown).
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    submit();
  };

  const toggleJson = (e) => {
    const on = e.currentTarget.checked;
    if (on && !text.trim()) setText(JSON_TEMPLATE);
    if (!on && text === JSON_TEMPLATE) setText("");
    setJson(on);
  };

  return html`<form class="prompt" onSubmit=${(e) => (e.preventDefault(), submit())}>
    ${problem && html`<p class="problem" role="alert">${problem}</p>`}
    ${props.withParams && !disabled &&
    html`<details class="params">
      <summary>Task params</summary>
      <label for="task-params" class="hint">JSON object passed as the task's params</label>
      <textarea id="task-params" rows="3" value=${params} spellcheck="false"
        onInput=${(e) => setParams(e.currentTarget.value)} placeholder='{"key": "value"}'></textarea>
    </details>`}
    <div class=${`prompt-row${disabled ? " locked" : ""}`}>
      <label for="prompt" class="visually-hidden">Prompt</label>
      <textarea id="prompt" ref=${box} rows="1" value=${text} disabled=${disabled}
        class=${json ? "mono" : ""} spellcheck=${!json}
        placeholder=${json && !disabled ? '{"message": "JSON here"}' : props.placeholder}
        onInput=${(e) => setText(e.currentTarget.value)} onKeyDown=${onKeyDown}></textarea>
      <button type="submit" class="primary" disabled=${disabled || busy || !text.trim()}>Send</button>
    </div>
    <div class="prompt-foot">
      <label class="switch">
        <input type="checkbox" checked=${json} disabled=${disabled} onChange=${toggleJson} />
        Send JSON
      </label>
      <span class="hint">Enter sends · Shift+Enter for a new line</span>
    </div>
  </form>`;
}
