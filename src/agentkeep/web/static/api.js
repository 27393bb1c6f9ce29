// The public HTTP API, as the browser calls it. Errors become ApiError with the server's
// own message (the envelope's "message"), so the page can show exactly what went wrong.

export class ApiError extends Error {
  constructor(message, status, data) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

let askForKey = () => {};
/** Called on every 401: the app opens its API-key dialog. */
export function onAuthRequired(fn) {
  askForKey = fn;
}

const AUTH_MESSAGE = "This server needs an API key. Enter one to continue.";
let rpcIds = 0;

async function send(method, path, body, signal) {
  const init = { method, headers: { accept: "application/json" }, signal, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(`Cannot reach the server (${e.message}). Is agentkeep running?`, 0, null);
  }
  if (response.status === 401) {
    askForKey();
    throw new ApiError(AUTH_MESSAGE, 401, null);
  }
  return response;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON: use the status line */
  }
  const message = (body && body.message) || `${response.status} ${response.statusText}`;
  return new ApiError(message, response.status, body ? body.data : null);
}

/** One JSON request; resolves to the parsed body (null for 204). */
export async function api(method, path, body, { signal } = {}) {
  const response = await send(method, path, body, signal);
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path, opts) => api("GET", path, undefined, opts);

function rpcBody(method, params) {
  rpcIds += 1;
  return { jsonrpc: "2.0", id: rpcIds, method, params };
}

function rpcPath(agentName) {
  return `/agents/name/${encodeURIComponent(agentName)}/rpc`;
}

/** A JSON-RPC call to an agent through the server; a JSON-RPC error is thrown. */
export async function rpc(agentName, method, params) {
  const body = await api("POST", rpcPath(agentName), rpcBody(method, params));
  if (body.error) throw new ApiError(body.error.message, 200, body.error.data);
  return body.result;
}

/**
 * ``message/send`` with ``stream: true``: reads the NDJSON answer to its end. The page
 * renders from the task stream (which carries the same updates), so the lines only matter
 * for an error, which is thrown.
 */
export async function rpcStreamed(agentName, method, params) {
  const response = await send("POST", rpcPath(agentName), rpcBody(method, params));
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffered += decoder.decode(value || new Uint8Array(), { stream: !done });
    const lines = buffered.split("\n");
    buffered = lines.pop();
    for (const line of done ? [...lines, buffered] : lines) {
      if (!line.trim()) continue;
      const message = JSON.parse(line);
      if (message.error) throw new ApiError(message.error.message, 200, message.error.data);
    }
    if (done) return;
  }
}
