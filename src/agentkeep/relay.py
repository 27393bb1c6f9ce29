"""The outbox relay: every server process moves committed ``task_updated`` rows to the bus.

At least once, in order per task. Two modes:

* **Fast** (normal): the lifecycle's after-commit hook hands the relay the committed row
  and its outbox row id (``on_commit``, no I/O); the relay loop publishes what is queued
  in outbox id order, then deletes the delivered rows in one statement, off the path of
  the change that is being announced. A viewer sees a transition about one bus round
  trip after its commit.
* **Backlog** (at startup, and after a publish failed): the database is the queue. The
  relay claims the oldest rows (``claim_outbox``), publishes them and deletes them, with
  backoff while the bus is away, until the outbox is empty; then it returns to fast mode.
  Changes committed meanwhile are left to these claims, so none overtakes an older one.

Every claimed row is checked against its task's stream tail first and only published if
its version is newer than the newest there: a row published by a process that died before
deleting it (kill -9), or whose publish had an unknown outcome, is not published again.
Each SSE connection still drops a version that is not newer than the last it sent.

A periodic poll picks up rows no live relay took (their process died before relaying, or
its bus failed). In fast mode it only claims rows older than ``grace_seconds``: younger
ones belong to the fast paths of live processes, and claiming them too would routinely
publish them twice. The fast path never overtakes such a row: a change that does not
follow the last version this process published waits while an older row of its task is
in the outbox (``_in_order``).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

import orjson

from agentkeep import background, errors
from agentkeep.bus.base import EventBus
from agentkeep.domain import models
from agentkeep.store import SqlStore, dberrors
from agentkeep.store.changes import Change
from agentkeep.store.outbox import OutboxClaim, task_updated_event

log = logging.getLogger(__name__)

#: How far back the tail check looks for an already-published change.
TAIL_CHECK_ENTRIES = 500
#: The fast-mode poll leaves rows younger than this many poll intervals (at least
#: ``MIN_GRACE_SECONDS``) to the fast path of the process that wrote them.
GRACE_POLLS = 3
MIN_GRACE_SECONDS = 2.0
MIN_BACKOFF_SECONDS = 0.05
#: How long published rows may wait for their delete, so that it stays off the frame's path.
SETTLE_DELAY_SECONDS = 0.005
#: Creating a task writes no outbox row: a task's first ``task_updated`` is version 2.
FIRST_CHANGE_VERSION = 2
#: Tasks whose newest published version this process remembers, for the order check.
TRACKED_TASKS = 10_000
#: How often a change waiting for an earlier change of its task is checked again.
HOLD_RECHECK_SECONDS = 0.005


class Mode(enum.Enum):
    FAST = "fast"
    BACKLOG = "backlog"


@dataclass(frozen=True, slots=True)
class Queued:
    """A change this process committed, waiting for the fast path."""

    outbox_id: int
    task_id: str
    version: int
    payload: str
    queued_at: float


class Relay:
    def __init__(
        self,
        store: SqlStore,
        bus: EventBus,
        *,
        poll_seconds: float = 1.0,
        batch: int = 200,
        max_backoff_seconds: float = 2.0,
        grace_seconds: float | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.max_backoff_seconds = max_backoff_seconds
        if grace_seconds is None:
            grace_seconds = max(MIN_GRACE_SECONDS, GRACE_POLLS * poll_seconds)
        self.grace_seconds = grace_seconds
        # Backlog first: the outbox may hold rows of this server's previous run, which must
        # go out before any change committed now.
        self.mode = Mode.BACKLOG
        self._queue: list[Queued] = []
        # Changes waiting for an earlier change of their task (see ``_in_order``).
        self._held: list[Queued] = []
        # The newest version of each task this process published: versions go up by one per
        # change, so the next one may follow at once.
        self._last: dict[str, int] = {}
        # Published (or attempted) rows whose delete (or attempt count) has not committed.
        self._delivered: list[int] = []
        self._attempted: list[int] = []
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None
        self._next_poll = 0.0
        self._settle_at = 0.0

    def wake(self) -> None:
        self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue) + len(self._held)

    async def on_commit(self, row: dict[str, Any], _change: Change) -> None:
        """The lifecycle hook: queue the committed change for the fast path; no I/O here,
        so the request never waits on the bus."""
        outbox_id = row.get("outbox_id")
        if outbox_id is None:
            # A writer that does not report its outbox row: the database path finds it.
            self._enter_backlog()
        else:
            # Queued in backlog mode too; ``_recover`` decides whether it may be used.
            payload = orjson.dumps(task_updated_event(row)).decode()
            now = asyncio.get_running_loop().time()
            self._queue.append(Queued(int(outbox_id), row["id"], row["version"], payload, now))
        self._wake.set()

    def _enter_backlog(self) -> None:
        # The queued rows are safe in the outbox; the claims publish them in order.
        self.mode = Mode.BACKLOG
        self._queue.clear()
        self._held.clear()

    async def step(self) -> int:
        """One pass of the loop; return how many rows were published or claimed.

        Rows published by the fast path are deleted later (``settle``), in one statement
        with those of the next few passes. Raises ``errors.BusUnavailable`` (now in
        backlog mode) if a publish failed.
        """
        if self.mode is Mode.BACKLOG:
            return await self.drain()
        delivered = await self._publish_queued()
        if asyncio.get_running_loop().time() >= self._next_poll:
            delivered += await self.poll()
        return delivered

    async def flush(self) -> int:
        """Fast path: publish the queued changes oldest first, then delete their rows."""
        delivered = await self._publish_queued()
        await self.settle()
        return delivered

    async def _publish_queued(self) -> int:
        if self.mode is Mode.BACKLOG or not (self._queue or self._held):
            return 0
        # No row lock is taken: these rows are this process's own, which other relays'
        # polls leave alone for ``grace_seconds``.
        batch = sorted([*self._held, *self._queue], key=attrgetter("outbox_id"))
        self._queue, self._held = [], []
        try:
            ready = await self._in_order(batch)
        except BaseException:
            self._held = batch  # the database was away: try again on the next pass
            raise
        if ready and not self._delivered:
            self._settle_at = asyncio.get_running_loop().time() + SETTLE_DELAY_SECONDS
        for item in ready:
            try:
                await self.bus.append(item.task_id, item.payload)
            except errors.BusUnavailable:
                # Unknown outcome: counted, so the retry checks the stream's tail first.
                self._attempted.append(item.outbox_id)
                self._enter_backlog()
                await self.settle()
                raise
            self._delivered.append(item.outbox_id)
            self._remember(item.task_id, item.version)
        return len(ready)

    async def _in_order(self, batch: list[Queued]) -> list[Queued]:
        """The queued changes that cannot overtake an earlier change of their task, in
        outbox id order; the others wait in ``_held``.

        Hooks do not run in commit order: a request may resume after the next change of
        its task has committed. Per task, outbox ids and versions do follow commit order,
        and each change adds one to the version. A change is safe when it follows the
        version this process last published; otherwise (unknown or a gap) the outbox
        decides: no older row of the task is left there, or it waits.
        """
        by_task: dict[str, list[Queued]] = {}
        for item in batch:
            # Not newer than what went out: a claim published it while its hook was late.
            if item.version > self._last.get(item.task_id, 0):
                by_task.setdefault(item.task_id, []).append(item)
        unsure = [t for t, items in by_task.items() if not self._follows(t, items[0].version)]
        oldest: dict[str, int] = {}
        if unsure:
            await self.settle()  # rows this process published must not count as waiting
            oldest = await self.store.oldest_outbox_ids(unsure)
        ready: list[Queued] = []
        for task_id, items in by_task.items():
            if oldest.get(task_id, items[0].outbox_id) < items[0].outbox_id:
                self._hold(items)
                continue
            run = 1
            while run < len(items) and items[run].version == items[run - 1].version + 1:
                run += 1
            ready += items[:run]
            self._hold(items[run:])
        return sorted(ready, key=attrgetter("outbox_id"))

    def _follows(self, task_id: str, version: int) -> bool:
        last = self._last.get(task_id)
        return version == (FIRST_CHANGE_VERSION if last is None else last + 1)

    def _hold(self, items: list[Queued]) -> None:
        # Held for at most half the grace, then left to the database path: the poll
        # publishes such rows in order after the grace, and never while also queued here.
        oldest_kept = asyncio.get_running_loop().time() - self.grace_seconds / 2
        self._held += [item for item in items if item.queued_at > oldest_kept]

    def _remember(self, task_id: str, version: int) -> None:
        last = self._last.pop(task_id, 0)
        self._last[task_id] = max(last, version)
        if len(self._last) > TRACKED_TASKS:
            del self._last[next(iter(self._last))]

    async def poll(self) -> int:
        """Claim rows no live relay took: in fast mode only those older than the grace."""
        # Settled first here and before every claim: a published row still in the outbox
        # would be claimed and published again.
        await self.settle()
        self._next_poll = asyncio.get_running_loop().time() + self.poll_seconds
        if self.mode is Mode.BACKLOG:
            return await self._recover()
        cutoff = models.utcnow() - timedelta(seconds=self.grace_seconds)
        total = 0
        while delivered := await self.relay_once(created_before=cutoff):
            total += delivered
        return total

    async def drain(self) -> int:
        """Relay until the outbox is empty (or the bus fails); return rows delivered."""
        await self.settle()
        return await self._recover()

    async def _recover(self) -> int:
        total = 0
        while True:
            # Everything queued so far is in the outbox, and the claim below publishes it
            # in order. Cleared before each claim: what is queued when a claim comes back
            # empty committed after it began, so it may take the fast path.
            self._queue.clear()
            delivered = await self.relay_once()
            if not delivered:
                break
            total += delivered
        self.mode = Mode.FAST
        self._next_poll = asyncio.get_running_loop().time() + self.poll_seconds
        return total

    async def relay_once(self, created_before: datetime | None = None) -> int:
        """Publish one claimed batch; return how many rows were delivered.

        Raises ``errors.BusUnavailable`` (and enters backlog mode) after settling what was
        done before the failure.
        """
        failure: errors.BusUnavailable | None = None
        async with self.store.claim_outbox(self.batch, created_before=created_before) as claim:
            try:
                await self._publish(claim)
            except errors.BusUnavailable as exc:
                # Not raised inside the block, or the claim would roll back the deletes
                # and the attempt count with it.
                failure = exc
        if failure is not None:
            self._enter_backlog()
            raise failure
        return len(claim.delivered)

    async def _publish(self, claim: OutboxClaim) -> None:
        # Claimed rows may have been published by a process that died before deleting
        # them (kill -9 between the publish and the settle): each task's stream tail says
        # which versions are out already, so none is published twice.
        published: dict[str, int] = {}
        for row in claim.rows:
            task_id, version = row["task_id"], row["version"]
            try:
                if version <= self._last.get(task_id, 0) or version <= await self._published(
                    task_id, published
                ):
                    claim.delivered.append(row["id"])
                    continue
                await self.bus.append(task_id, row["payload"])
            except errors.BusUnavailable:
                # The outcome is unknown: the entry may have been written before the
                # connection failed. The retry checks the tail first.
                claim.attempted.append(row["id"])
                raise
            claim.delivered.append(row["id"])
            published[task_id] = version
            self._remember(task_id, version)

    async def _published(self, task_id: str, known: dict[str, int]) -> int:
        """The newest version of ``task_id`` in its stream's tail (0 if none), read once
        per claim."""
        if task_id not in known:
            known[task_id] = 0
            for entry in reversed(await self.bus.tail(task_id, TAIL_CHECK_ENTRIES)):
                head = entry.head
                if head.type == "task_updated" and isinstance(head.version, int):
                    known[task_id] = head.version
                    break
        return known[task_id]

    async def settle(self) -> None:
        """Delete the published rows (one statement) and count failed attempts."""
        if not (self._delivered or self._attempted):
            return
        delivered, attempted = self._delivered, self._attempted
        self._delivered, self._attempted = [], []
        try:
            await self.store.settle_outbox(delivered, attempted)
        except BaseException:
            # Kept for the next try, which comes before any claim.
            self._delivered[:0], self._attempted[:0] = delivered, attempted
            raise

    def start(self) -> None:
        """Run the relay in the background until ``stop``."""
        self._task = asyncio.create_task(self.run(), name="agentkeep-relay")

    async def run(self) -> None:
        """Relay until ``stop``: on each wake-up and each ``poll_seconds``; back off on failure."""
        backoff = MIN_BACKOFF_SECONDS
        while not self._stopping.is_set():
            # Cleared before the pass: a change committed during it wakes the next one.
            self._wake.clear()
            try:
                await self.step()
                await self._settle_if_due()
            except Exception as exc:
                # Bus or database briefly away: the rows are safe in the outbox. Wake-ups
                # are ignored while backing off, or a burst of changes would hammer it.
                if isinstance(exc, errors.BusUnavailable):
                    log.warning("outbox relay: bus unavailable, retrying in %.2fs", backoff)
                elif isinstance(exc, errors.Unavailable) or dberrors.is_unavailable(exc):
                    log.warning("outbox relay: database unavailable, retrying in %.2fs", backoff)
                else:
                    log.exception("outbox relay failed; retrying in %.2fs", backoff)
                await background.idle(self._stopping, backoff)
                backoff = min(backoff * 2, self.max_backoff_seconds)
                continue
            backoff = MIN_BACKOFF_SECONDS
            await self._idle()
        await self._last_pass()

    async def _settle_if_due(self) -> None:
        # The deletes wait a little (or for a full batch): right after a publish they would
        # compete with the fan-out for this event loop just when it delivers the frame, and
        # one statement then covers several changes.
        now = asyncio.get_running_loop().time()
        if self._delivered and (now >= self._settle_at or len(self._delivered) >= self.batch):
            await self.settle()

    async def _idle(self) -> None:
        until = self._next_poll
        if self._delivered or self._attempted:
            until = min(until, self._settle_at)
        if self._held:
            until = min(until, asyncio.get_running_loop().time() + HOLD_RECHECK_SECONDS)
        await background.idle(self._wake, until - asyncio.get_running_loop().time())

    async def _last_pass(self) -> None:
        # Best effort, in either mode (never run yet: drain): the rest stays in the outbox.
        try:
            await self.step()
            await self.settle()
        except Exception as exc:
            log.warning("outbox relay: last pass failed (%s); rows stay in the outbox", exc)

    async def stop(self, grace_seconds: float = background.STOP_GRACE_SECONDS) -> None:
        """Stop ``run`` between passes (never inside a database call unless it overstays
        ``grace_seconds``)."""
        self._stopping.set()
        self._wake.set()
        await background.finish(self._task, grace_seconds)
