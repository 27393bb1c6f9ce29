"""Per-task SSE streams (``GET …/stream``) and agent-published updates (``POST``).

The order of a stream, as Agentex's: the cursor is taken, then ``connected`` is sent, then
the entries after the cursor, live, with a ``:ping`` after each quiet ping interval, until a
``task_updated`` with a terminal task ends it. See streaming.md for every case.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ConfigDict

from agentkeep import errors, sse
from agentkeep.api import wire
from agentkeep.api.deps import StoreDep, TaskAccessDep
from agentkeep.bus.base import START, Entry, EventBus, parse_id
from agentkeep.domain import live, models, status
from agentkeep.domain.limits import CheckedBody
from agentkeep.fanout import Fanout, Viewer, ViewerClosed, ViewerTooSlow
from agentkeep.store import SqlStore
from agentkeep.store.rows import TaskRow

log = logging.getLogger(__name__)

router = APIRouter(tags=["streams"])

_YES = frozenset({"1", "true", "yes", "on"})
#: How often a viewer whose backlog read failed (bus unreachable) tries again.
BACKLOG_RETRY_SECONDS = 0.25
#: How far back from a resume cursor the task's version at the cursor is looked for.
RESUME_SCAN_ENTRIES = 500


def _bus(request: Request) -> EventBus:
    bus: EventBus = request.app.state.bus
    return bus


class StreamSession:
    """One SSE connection: what it has sent, so nothing is sent twice."""

    def __init__(self, request: Request, task_id: str, cursor: str, with_ids: bool) -> None:
        state = request.app.state
        self.store: SqlStore = state.store
        self.bus: EventBus = state.bus
        self.fanout: Fanout = state.fanout
        self.ping_seconds: float = state.settings.sse_ping_seconds
        self.task_id = task_id
        self.cursor = cursor
        self.with_ids = with_ids
        # The task's newest version this connection sent (or, resuming, the version at the
        # cursor): a task_updated not newer is a repeat (at-least-once relay) and dropped,
        # so versions never go backwards, across resumes too.
        self.seen_version = 0
        #: Frames sent right after ``connected`` (a reset).
        self.prelude: list[bytes] = []
        self.finished = False
        #: A recheck found the task ended before its update came through the stream.
        self.end_overdue = False

    async def render(self, entry: Entry) -> bytes | None:
        """The frame for ``entry``, or None to skip it; sets ``finished`` on a terminal one."""
        key = entry.key
        if key <= parse_id(self.cursor):
            return None
        self.cursor = entry.id
        head = entry.head
        if not head.is_event:
            return None  # not an event object: a foreign writer's entry
        if head.type == "task_updated":
            version = head.version
            # The relay delivers at least once: a change already shown is not shown again.
            if isinstance(version, int) and version <= self.seen_version:
                return None
            terminal = status.is_terminal(str(head.status))
            if terminal and not await self._really_ended():
                # Anything that can XADD to ``task:{id}`` (agents do) could forge a terminal
                # update and close every viewer's stream: the row decides, not the entry.
                return None
            if isinstance(version, int):
                self.seen_version = version
            self.finished = terminal
        return sse.frame(entry.data, entry.id if self.with_ids else None)

    async def _really_ended(self) -> bool:
        """Whether the task row is terminal (or gone): known at once when this process
        ended the task (no read on the path of the frame), else one read by primary key."""
        if self.fanout.ended(self.task_id):
            return True
        row = await self.store.get_task(self.task_id)
        return row is None or status.is_terminal(row["status"])

    async def backlog(self) -> AsyncIterator[bytes]:
        """Every entry the stream holds after the cursor, page by page."""
        while not self.finished:
            page = await self.bus.read_after(self.task_id, self.cursor)
            if not page:
                return
            for entry in page:
                out = await self.render(entry)
                if out is not None:
                    yield out
                if self.finished:
                    return

    async def recheck(self) -> bytes | None:
        """Each ping interval: a task found terminal or gone ends the stream.

        The ending update normally comes through the stream, with its entry id (which a
        client resumes from). A recheck can fall between the commit and the relay's
        publish, a few milliseconds: the row is then given one more interval to arrive
        as an entry, and only after that is sent from the row, without an id (the bus
        is away, say).
        """
        row = await self.store.get_task(self.task_id)
        if row is None:
            self.finished = True
            return None
        if not status.is_terminal(row["status"]):
            return None
        if row["version"] <= self.seen_version:
            self.finished = True
            return None
        if not self.end_overdue:
            self.end_overdue = True
            return None
        self.finished = True
        return sse.encode_event(_task_updated(row))

    async def live(self) -> AsyncIterator[bytes]:
        yield sse.connected(self.task_id)
        for frame in self.prelude:
            yield frame
        viewer = await self.fanout.subscribe(self.task_id, self.cursor)
        try:
            async for out in self._follow(viewer):
                yield out
        except ViewerTooSlow:
            yield sse.error(sse.TOO_SLOW)
        except ViewerClosed:
            yield sse.error(sse.SHUTTING_DOWN)
        finally:
            self.fanout.unsubscribe(viewer)

    async def resume_at(self, cursor: str) -> bool:
        """Take the task's version at a client's resume ``cursor``; False if the stream no
        longer reaches back to it (Redis lost it, it expired or was trimmed)."""
        held = await self.bus.up_to(self.task_id, cursor, RESUME_SCAN_ENTRIES)
        if not held:
            return False
        for entry in reversed(held):
            task = entry.event.get("task") if entry.event.get("type") == "task_updated" else None
            if isinstance(task, dict) and isinstance(task.get("version"), int):
                self.seen_version = task["version"]
                break
        return True

    async def reset(self) -> list[bytes] | None:
        """The frames that replace what the stream lost: a ``reset`` marker and the current
        task, with the stream's end as id; None if the task is gone."""
        # The end first, then the row: every change up to the end is in the row.
        end = await self.bus.last_id(self.task_id)
        row = await self.store.get_task(self.task_id)
        if row is None:
            return None
        self.cursor = end
        self.seen_version = row["version"]
        self.finished = status.is_terminal(row["status"])
        return [sse.reset(self.task_id), sse.encode_event(_task_updated(row), end)]

    async def _catch_up(self) -> list[bytes] | None:
        """The backlog after the cursor, or None while the bus is unreachable."""
        try:
            return [out async for out in self.backlog()]
        except errors.BusUnavailable:
            return None

    async def _follow(self, viewer: Viewer) -> AsyncIterator[bytes]:
        backlog = await self._catch_up()
        quiet_since = time.monotonic()
        while True:
            for frame in backlog or ():
                yield frame
                quiet_since = time.monotonic()
            if backlog:
                backlog = []
            if self.finished:
                return
            wait = max(self.ping_seconds - (time.monotonic() - quiet_since), 0.0)
            if backlog is None:
                # Live entries wait in the queue until the backlog is read: they must not
                # overtake it. Meanwhile keep retrying the bus, and keep pinging.
                if viewer.closed:
                    raise ViewerClosed
                await asyncio.sleep(min(wait, BACKLOG_RETRY_SECONDS))
                backlog = await self._catch_up()
            elif (entry := await viewer.next(wait)) is not None:
                if (out := await self.render(entry)) is not None:
                    yield out
                    quiet_since = time.monotonic()
                continue
            if time.monotonic() - quiet_since >= self.ping_seconds:
                yield sse.keepalive(self.with_ids)
                quiet_since = time.monotonic()
                if (out := await self.recheck()) is not None:
                    yield out


def _task_updated(row: TaskRow) -> dict[str, Any]:
    return {"type": "task_updated", "task": models.task_wire(row)}


def _stream(body: AsyncIterator[bytes] | list[bytes]) -> StreamingResponse:
    async def from_list(frames: list[bytes]) -> AsyncIterator[bytes]:
        for f in frames:
            yield f

    content = from_list(body) if isinstance(body, list) else body
    return StreamingResponse(content, media_type=sse.MEDIA_TYPE, headers=sse.HEADERS)


def _resume_cursor(header: str | None, query: str | None) -> str | None:
    raw = header if header else query
    if not raw:
        return None
    try:
        parse_id(raw.strip())
    except ValueError:
        raise errors.BadRequest(
            f"Last-Event-ID {raw!r} is not a stream entry id such as 1700000000000-0."
        ) from None
    return raw.strip()


async def _open(request: Request, row: TaskRow, cursor: str | None, with_ids: bool) -> Response:
    task_id = row["id"]
    bus = _bus(request)
    terminal = status.is_terminal(row["status"])
    if not terminal:
        _admit(request)
    if terminal and cursor is None:
        # Late connect: the current row tells the end; the conversation is read over REST.
        # With ids the frame carries the stream's end, so a browser's reconnect gets 204.
        end: str | None = None
        if with_ids:
            try:
                end = await bus.last_id(task_id)
            except errors.BusUnavailable:
                end = None
        return _stream([sse.connected(task_id), sse.encode_event(_task_updated(row), end)])
    session = StreamSession(request, task_id, cursor or await bus.last_id(task_id), with_ids)
    if cursor is not None and cursor != START and not await session.resume_at(cursor):
        # The client may have missed changes: it gets the current task, marked.
        reset = await session.reset()
        if reset is None:
            return _stream([sse.error(f"Task {task_id} not found")])
        if session.finished:
            return _stream([sse.connected(task_id), *reset])
        session.prelude = reset
        return _stream(session.live())
    if terminal:
        frames = [out async for out in session.backlog()]
        if not frames:
            return Response(status_code=204, headers=sse.HEADERS)
        return _stream([sse.connected(task_id), *frames])
    return _stream(session.live())


def _admit(request: Request) -> None:
    """Refuse a live viewer beyond the process's cap with 503 (it retries or goes to
    another process), rather than running out of open files."""
    state = request.app.state
    cap: int = state.settings.max_viewers
    if state.fanout.viewer_count >= cap:
        log.warning("viewer refused: %d viewers open (AGENTKEEP_MAX_VIEWERS)", cap)
        raise errors.AtCapacity(
            f"This server already serves {cap} viewers (AGENTKEEP_MAX_VIEWERS); retry shortly."
        )


LastEventIdHeader = Annotated[str | None, Header(alias="Last-Event-ID")]


@router.get(
    "/tasks/name/{task_name}/stream",
    response_class=wire.EventStream,
    responses=wire.STREAM_RESPONSES,
)
async def stream_task_by_name(
    request: Request,
    task_name: str,
    store: StoreDep,
    access: TaskAccessDep,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: str | None = None,
    ids: str | None = None,
) -> Response:
    await access.require_name(task_name)
    row = await store.get_task_by_name(task_name)
    if row is None:
        raise errors.NotFound.by_name(task_name)
    cursor = _resume_cursor(last_event_id_header, last_event_id)
    return await _open(request, row, cursor, cursor is not None or (ids or "").lower() in _YES)


@router.get(
    "/tasks/{task_id}/stream", response_class=wire.EventStream, responses=wire.STREAM_RESPONSES
)
async def stream_task(
    request: Request,
    task_id: str,
    store: StoreDep,
    access: TaskAccessDep,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: str | None = None,
    ids: str | None = None,
) -> Response:
    cursor = _resume_cursor(last_event_id_header, last_event_id)
    row = await store.get_task(task_id) if await access.allows(task_id) else None
    if row is None:
        # A task beyond an agent key's reach looks exactly like an unknown one.
        # As Agentex: an unknown id is an error event on the stream, not an HTTP error.
        return _stream([sse.error(f"Task {task_id} not found")])
    return await _open(request, row, cursor, cursor is not None or (ids or "").lower() in _YES)


class StreamUpdate(CheckedBody):
    """A message update an agent publishes (Agentex's ``TaskMessageUpdate`` shapes)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["start", "delta", "full", "done"]


UpdatesBody = Annotated[StreamUpdate | list[StreamUpdate], Body()]


@router.post("/tasks/{task_id}/stream/events", response_model=wire.Published)
async def publish_stream_events(
    request: Request, task_id: str, updates: UpdatesBody, store: StoreDep, access: TaskAccessDep
) -> dict[str, Any]:
    """Publish ``start/delta/full/done`` updates for agents without Redis access."""
    await access.require(task_id)
    live.task(await store.get_task(task_id), task_id)
    bus = _bus(request)
    items = updates if isinstance(updates, list) else [updates]
    entry_ids = [await bus.publish(task_id, u.model_dump(mode="json")) for u in items]
    return {"task_id": task_id, "ids": entry_ids}
