"""Fan-out: one bus reader per process, delivering to every viewer through bounded queues.

Agentex opened a blocking Redis read per viewer; here a single loop waits on every watched
task at once (``bus.wait``) and copies each entry into the queue of each viewer of that
task. A viewer whose queue is full is marked too slow and dropped rather than allowed to
hold up the others; it can resume by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from agentkeep import background, errors
from agentkeep.bus.base import Entry, EventBus, parse_id
from agentkeep.domain import status
from agentkeep.store.changes import Change
from agentkeep.store.rows import TaskRow

log = logging.getLogger(__name__)

#: How long one blocking read may last before the loop refreshes its cursors anyway.
READ_BLOCK_SECONDS = 5.0
#: How many tasks this process ended it remembers (``Fanout.ended``), newest kept.
ENDED_REMEMBERED = 10_000


class ViewerTooSlow(Exception):
    """The viewer's queue overflowed; its connection must end."""


class ViewerClosed(Exception):
    """The server is shutting down: the connection ends at once (the client resumes)."""


class Viewer:
    """One SSE connection's subscription to one task."""

    def __init__(self, task_id: str, maxsize: int) -> None:
        self.task_id = task_id
        # None in the queue wakes a waiting ``next`` to see ``closed``.
        self.queue: asyncio.Queue[Entry | None] = asyncio.Queue(maxsize)
        self.too_slow = False
        self.closed = False

    def offer(self, entry: Entry) -> None:
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            if not self.too_slow:
                log.warning("viewer of task %s too slow: disconnected", self.task_id)
            self.too_slow = True

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    async def next(self, timeout: float) -> Entry | None:
        """The next entry, or None after ``timeout`` of quiet; raises ``ViewerTooSlow``
        or ``ViewerClosed``."""
        self._check()
        try:
            async with asyncio.timeout(timeout):
                entry = await self.queue.get()
        except TimeoutError:
            return None
        self._check()
        return entry

    def _check(self) -> None:
        if self.closed:
            raise ViewerClosed
        if self.too_slow:
            raise ViewerTooSlow


class Fanout:
    def __init__(self, bus: EventBus, *, queue_size: int = 1000, viewers: Any = None) -> None:
        self.bus = bus
        self.queue_size = queue_size
        #: A gauge (``inc``/``dec``) following the number of viewers, or None.
        self._gauge = viewers
        self._viewers: dict[str, set[Viewer]] = {}
        # The loop's position per watched task. Viewers that resume from further back read
        # their own backlog first (see ``subscribe``), so one cursor per task is enough.
        self._cursors: dict[str, str] = {}
        self._watching = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Tasks being added to the loop's set (see ``_watch``).
        self._starting: dict[str, asyncio.Future[None]] = {}
        self.closing = False
        # Tasks this process moved to a final status, oldest first.
        self._ended: dict[str, None] = {}

    async def on_commit(self, row: TaskRow, _change: Change) -> None:
        """The lifecycle's after-commit hook: remember the tasks this process ended."""
        if row["status"] in status.FINAL:
            self._ended[row["id"]] = None
            if len(self._ended) > ENDED_REMEMBERED:
                del self._ended[next(iter(self._ended))]

    def ended(self, task_id: str) -> bool:
        """Whether this process gave ``task_id`` a final status: its row is ended for good,
        so a stream may believe a terminal update of it without reading the row."""
        return task_id in self._ended

    def close_viewers(self) -> None:
        """Shutting down: end every open stream now, and any opened from here on."""
        self.closing = True
        for viewers in self._viewers.values():
            for viewer in viewers:
                viewer.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="agentkeep-fanout")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def viewer_count(self) -> int:
        return sum(len(v) for v in self._viewers.values())

    async def subscribe(
        self, task_id: str, cursor: str, *, queue_size: int | None = None
    ) -> Viewer:
        """Deliver the entries of ``task_id`` that arrive from now on to a new viewer.

        The caller reads its own backlog after ``cursor`` once subscribed: whatever the loop
        has not reached is then in that backlog, and whatever the loop delivers is in the
        queue. Entries seen twice that way are dropped by id on the viewer's side.
        """
        viewer = Viewer(task_id, queue_size or self.queue_size)
        if self.closing:
            viewer.close()
        if task_id not in self._cursors:
            await self._watch(task_id, cursor)
        self._viewers.setdefault(task_id, set()).add(viewer)
        self._watching.set()
        if self._gauge is not None:
            self._gauge.inc()
        return viewer

    async def _watch(self, task_id: str, cursor: str) -> None:
        """Add ``task_id`` to the loop's tasks: once, however many viewers of it open at
        the same moment (each would otherwise send its own read and wake-up to Redis)."""
        starting = self._starting.get(task_id)
        if starting is None:
            starting = asyncio.ensure_future(self._start_watching(task_id, cursor))
            self._starting[task_id] = starting
            starting.add_done_callback(lambda done: self._started(task_id, done))
        # Shielded: the first viewer leaving must not cancel the start the others wait on.
        await asyncio.shield(starting)

    def _started(self, task_id: str, done: asyncio.Future[None]) -> None:
        if self._starting.get(task_id) is done:
            del self._starting[task_id]

    async def _start_watching(self, task_id: str, cursor: str) -> None:
        # Start the loop at the stream's end, not at the viewer's (possibly old) resume
        # cursor: replaying a long backlog through the queue would overflow it.
        try:
            start = await self.bus.last_id(task_id)
        except errors.BusUnavailable:
            start = cursor
        self._cursors.setdefault(task_id, start)
        # The loop may be blocked on the old set of tasks: wake it to add this one.
        with contextlib.suppress(errors.BusUnavailable):
            await self.bus.interrupt()

    def unsubscribe(self, viewer: Viewer) -> None:
        viewers = self._viewers.get(viewer.task_id)
        if viewers is None or viewer not in viewers:
            return
        viewers.discard(viewer)
        if self._gauge is not None:
            self._gauge.dec()
        if not viewers:
            del self._viewers[viewer.task_id]
            self._cursors.pop(viewer.task_id, None)

    def _deliver(self, task_id: str, entries: list[Entry]) -> None:
        if task_id not in self._cursors:
            return  # every viewer left while the read was in flight
        if parse_id(entries[-1].id) > parse_id(self._cursors[task_id]):
            self._cursors[task_id] = entries[-1].id
        for viewer in list(self._viewers.get(task_id, ())):
            for entry in entries:
                viewer.offer(entry)

    async def _run(self) -> None:
        # Stopped by cancelling (``close``): nothing sets ``never``.
        never = asyncio.Event()
        backoff = background.Backoff(0.05, 2.0)
        await background.loop(
            "stream reader", log, self._read, never, backoff, retry_on=(errors.BusUnavailable,)
        )

    async def _read(self) -> None:
        while not self._cursors:
            self._watching.clear()
            await self._watching.wait()
        ready = await self.bus.wait(dict(self._cursors), READ_BLOCK_SECONDS)
        for task_id, entries in ready.items():
            self._deliver(task_id, entries)
