"""``agentkeep send AGENT TEXT``: start a task and show the agent's reply as it streams.

Sync agents: ``task/create``, then ``message/send`` with ``stream: true`` (NDJSON, one
update per line). Async agents: ``task/create``, open the task's stream, then
``event/send``, and follow the stream until the agent's first complete message.
"""

from __future__ import annotations

import json as jsonlib
from typing import Annotated, Any

import typer

from agentkeep.cli_ops import stream
from agentkeep.cli_ops.conn import (
    Conn,
    agent_path,
    command,
    err,
    fail,
    print_json,
    raise_for,
)


def send(
    conn: Conn,
    agent: Annotated[str, typer.Argument(help="Agent name or id.")],
    text: Annotated[str, typer.Argument(help="What to say.")],
    task: Annotated[
        str | None, typer.Option(help="Task name: created if new, continued if it exists.")
    ] = None,
) -> None:
    """Send TEXT to an agent on a new (or named) task and stream the reply."""
    with command():
        found = conn.request("GET", agent_path(agent))
        rpc = f"/agents/{found['id']}/rpc"
        task_id = _task_id(conn, rpc, task)
        content = {"type": "text", "author": "user", "content": text}
        printer = (
            _send_sync(conn, rpc, task_id, content)
            if found.get("acp_type") == "sync"
            else _send_async(conn, rpc, task_id, content)
        )
        if conn.json:
            latest = conn.request("GET", f"/tasks/{task_id}")
            print_json({"task": latest, "reply": printer.text()})
        else:
            err.print(
                f"[dim]task {task_id}: `agentkeep tasks watch {task_id}` follows it, "
                f"`agentkeep tasks complete {task_id}` ends it[/dim]"
            )


def _call(conn: Conn, rpc: str, method: str, params: dict[str, Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    answer = conn.request("POST", rpc, json=body)
    if answer.get("error"):
        fail(str(answer["error"].get("message") or answer["error"]))
    return answer["result"]


def _task_id(conn: Conn, rpc: str, name: str | None) -> str:
    if name is not None:
        with conn.transport_errors():
            existing = conn.http().get(f"/tasks/name/{name}")
        if existing.status_code == 200:
            return str(existing.json()["id"])
    created = _call(conn, rpc, "task/create", {"name": name} if name else {})
    return str(created["id"])


def _send_sync(conn: Conn, rpc: str, task_id: str, content: dict[str, Any]) -> stream.Printer:
    import httpx

    printer = stream.Printer(conn.json, quiet=conn.json)
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "message/send",
        "params": {"task_id": task_id, "content": content, "stream": True},
    }
    waiting = err.status("waiting for the agent …")
    waiting.start()
    try:
        with (
            conn.transport_errors(),
            conn.http().stream(
                "POST", rpc, json=body, timeout=httpx.Timeout(10.0, read=None)
            ) as response,
        ):
            if response.status_code >= 400:
                response.read()
                raise_for(response)
            for line in response.iter_lines():
                if not line.strip():
                    continue
                waiting.stop()
                answer = jsonlib.loads(line)
                if answer.get("error"):
                    fail(str(answer["error"].get("message") or answer["error"]))
                printer.event(answer["result"])
    finally:
        waiting.stop()
    printer.event({"type": "done"})
    return printer


def _send_async(conn: Conn, rpc: str, task_id: str, content: dict[str, Any]) -> stream.Printer:
    waiting = err.status("waiting for the agent …")

    def send_event() -> None:
        # Sent once the stream is open, so the reply cannot slip past before it.
        _call(conn, rpc, "event/send", {"task_id": task_id, "content": content})
        waiting.start()

    def replied(event: dict[str, Any]) -> bool:
        waiting.stop()
        return event.get("type") in ("full", "done") and stream.author_of(event) == "agent"

    follower = stream.Follower(
        conn, task_id, on_connected=send_event, stop_when=replied, quiet=conn.json
    )
    try:
        follower.run()
    finally:
        waiting.stop()
    return follower.printer
