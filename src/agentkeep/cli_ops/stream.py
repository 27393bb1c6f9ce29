"""Following a task's SSE stream: render as it comes, resume after a drop, stop at the end.

The stream is opened with ``?ids=1`` so each entry carries its id; after a dropped
connection (server restart, proxy timeout) the follower reconnects with ``Last-Event-ID``
and the server resumes strictly after it. When the stream ends without a terminal
``task_updated`` (a restarted server, a stream the server reset), the task itself is read:
a task that ended meanwhile ends the watch with its final status.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from agentkeep.cli_ops import render
from agentkeep.cli_ops.conn import (
    NOT_FOUND,
    UNREACHABLE,
    Conn,
    err,
    fail,
    out,
    raise_for,
    unreachable,
)
from agentkeep.domain.status import TaskStatus

if TYPE_CHECKING:
    import httpx

#: Exit codes of ``watch`` and ``send`` by the task's final status (the README lists them).
EXIT_BY_STATUS = {
    TaskStatus.COMPLETED: 0,
    TaskStatus.FAILED: 10,
    TaskStatus.CANCELED: 11,
    TaskStatus.TERMINATED: 12,
    TaskStatus.TIMED_OUT: 13,
    TaskStatus.DELETED: 14,
}
#: Longer than the server's keepalive interval (15 s by default): a connection silent for
#: this long is dead, even if no error says so.
READ_TIMEOUT_SECONDS = 60.0
RETRY_SECONDS = 1.0


def exit_code(status: str | None) -> int:
    known = render.known(status)
    return EXIT_BY_STATUS.get(known, 0) if known is not None else 0


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str | None, str]]:
    """``(id, data)`` per SSE event; comments (``:ping``) and other fields are skipped."""
    entry_id: str | None = None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield entry_id, "\n".join(data)
            entry_id, data = None, []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line.startswith("id:"):
            entry_id = line[3:].strip()


class Printer:
    """Writes events for people (inline tokens, one line per change) or as NDJSON; with
    ``quiet`` it only keeps the text (``send --json`` prints one document at the end)."""

    def __init__(self, as_json: bool, *, quiet: bool = False) -> None:
        self.as_json = as_json
        self.quiet = quiet
        #: Text already shown per message, so a ``full`` after ``start``+``delta``s (or a
        #: ``full`` repeating a ``start``) prints only what is new.
        self.shown: dict[str, str] = {}
        self.open_line = False

    def event(self, event: dict[str, Any]) -> None:
        if self.quiet:
            self._track(event)
            return
        if self.as_json:
            print(json.dumps(event, ensure_ascii=False), flush=True)
            return
        kind = event.get("type")
        if kind == "task_updated":
            self._end_line()
            task = event.get("task") or {}
            reason = f" — {escape(str(task['status_reason']))}" if task.get("status_reason") else ""
            out.print(f"● {render.badge(task.get('status'))} v{task.get('version')}{reason}")
        elif kind in ("start", "full"):
            self._text(event, _content_text(event.get("content")))
        elif kind == "delta":
            delta = event.get("delta") or {}
            key = _message_key(event)
            self._text(event, self.shown.get(key, "") + _delta_text(delta))
        elif kind == "done":
            self._end_line()
        elif kind == "error":
            self._end_line()
            err.print(f"[red]stream error:[/red] {escape(str(event.get('message')))}")

    def _track(self, event: dict[str, Any]) -> None:
        kind, key = event.get("type"), _message_key(event)
        if kind in ("start", "full"):
            self.shown[key] = _content_text(event.get("content"))
        elif kind == "delta":
            self.shown[key] = self.shown.get(key, "") + _delta_text(event.get("delta") or {})

    def text(self) -> str:
        """Everything shown, message after message."""
        return "\n".join(self.shown.values())

    def _text(self, event: dict[str, Any], text: str) -> None:
        key = _message_key(event)
        before = self.shown.get(key)
        if before is None:
            self._end_line()
            author = (event.get("content") or {}).get("author") or _author(event)
            out.print(f"[bold]{escape(str(author))}:[/bold] ", end="")
            before = ""
        new = text[len(before) :] if text.startswith(before) else "\n" + text
        out.print(escape(new), end="")
        self.shown[key] = text
        self.open_line = True
        if event.get("type") == "full":
            self._end_line()

    def _end_line(self) -> None:
        if self.open_line:
            out.print()
            self.open_line = False


def _message_key(event: dict[str, Any]) -> str:
    parent = event.get("parent_task_message") or {}
    return str(parent.get("id") or f"index-{event.get('index')}")


def author_of(event: dict[str, Any]) -> str:
    """Who wrote the message an update belongs to."""
    content = event.get("content") or {}
    return str(content.get("author") or _author(event))


def _author(event: dict[str, Any]) -> str:
    parent = event.get("parent_task_message") or {}
    return str((parent.get("content") or {}).get("author") or "agent")


def _content_text(content: Any) -> str:
    if not isinstance(content, dict):
        return ""
    if content.get("type") == "text":
        return str(content.get("content") or "")
    return json.dumps({k: v for k, v in content.items() if k != "author"}, ensure_ascii=False)


def _delta_text(delta: dict[str, Any]) -> str:
    for key in ("text_delta", "content_delta", "arguments_delta", "summary_delta"):
        if isinstance(delta.get(key), str):
            return str(delta[key])
    return str(delta.get("data_delta") or "")


class Follower:
    """Follows one task until it ends (or ``stop_when`` says so)."""

    def __init__(
        self,
        conn: Conn,
        task_id: str,
        *,
        reconnect_for: float = 60.0,
        on_connected: Callable[[], None] | None = None,
        stop_when: Callable[[dict[str, Any]], bool] | None = None,
        quiet: bool = False,
    ) -> None:
        self.conn = conn
        self.task_id = task_id
        self.reconnect_for = reconnect_for
        self.on_connected = on_connected
        self.stop_when = stop_when
        self.printer = Printer(conn.json, quiet=quiet)
        self.last_id: str | None = None
        self.status: str | None = None
        self.versions: set[int] = set()
        self.connects = 0

    def run(self) -> str | None:
        """Follow until the end; return the task's final status."""
        import httpx

        lost_at = 0.0
        while True:
            connects_before = self.connects
            try:
                if self._once():
                    return self.status
                problem = "the stream ended"
            except httpx.TransportError as exc:
                problem = str(exc) or type(exc).__name__
            if self._ended_meanwhile():
                return self.status
            if self.connects == 0:
                fail(unreachable(self.conn.server, problem), UNREACHABLE)
            if self.connects > connects_before:  # this connection was up: a new outage
                lost_at = time.monotonic()
                err.print(f"connection lost ({escape(problem)}); reconnecting …")
            elif time.monotonic() - lost_at > self.reconnect_for:
                fail(f"gave up reconnecting after {self.reconnect_for:g}s: {problem}", UNREACHABLE)
            time.sleep(RETRY_SECONDS)

    def _once(self) -> bool:
        """One connection; True once the watch is over, False to reconnect."""
        import httpx

        headers = {"accept": "text/event-stream"}
        if self.last_id:
            headers["last-event-id"] = self.last_id
        timeout = httpx.Timeout(10.0, read=READ_TIMEOUT_SECONDS)
        with self.conn.http().stream(
            "GET",
            f"/tasks/{self.task_id}/stream",
            params={"ids": "1"},
            headers=headers,
            timeout=timeout,
        ) as response:
            if response.status_code == 204:
                return self._ended_meanwhile()
            if response.status_code >= 400:
                response.read()
                raise_for(response)
            return self._consume(response)

    def _consume(self, response: httpx.Response) -> bool:
        connected = False
        for entry_id, data in sse_events(response.iter_lines()):
            event = json.loads(data)
            if entry_id:
                self.last_id = entry_id
            kind = event.get("type")
            if kind == "connected":
                connected = True
                self.printer.event(event)  # NDJSON keeps it; people get a stderr note
                self._connected()
                continue
            if kind == "error" and not connected:
                fail(str(event.get("message") or "no such task"), NOT_FOUND)
            if kind == "error":
                self.printer.event(event)
                return False  # e.g. "viewer too slow; reconnect": resume by id
            if self._show(event):
                return True
        return False

    def _connected(self) -> None:
        self.connects += 1
        if self.connects == 1:
            if not self.conn.json:
                err.print(f"[dim]watching task {self.task_id} (Ctrl-C to stop)[/dim]")
            if self.on_connected is not None:
                self.on_connected()
        elif not self.conn.json:
            err.print("[dim]reconnected[/dim]")

    def _show(self, event: dict[str, Any]) -> bool:
        """Print ``event``; True when the watch is over."""
        if event.get("type") == "task_updated":
            task = event.get("task") or {}
            version = task.get("version")
            if isinstance(version, int):
                if version in self.versions:
                    return False
                self.versions.add(version)
            self.status = task.get("status")
            self.printer.event(event)
            return render.is_terminal(self.status)
        # Asked before printing: the caller may need to clear a spinner first.
        over = self.stop_when is not None and self.stop_when(event)
        self.printer.event(event)
        return over

    def _ended_meanwhile(self) -> bool:
        """Read the task: if it ended, show its final change and report the watch over."""
        import httpx

        try:
            response = self.conn.http().get(f"/tasks/{self.task_id}")
        except httpx.TransportError:
            return False
        if response.status_code == 404:
            self.status = TaskStatus.DELETED.value
            return True
        if response.status_code >= 400:
            return False
        task = response.json()
        if not render.is_terminal(task.get("status")):
            return False
        return self._show({"type": "task_updated", "task": task})
