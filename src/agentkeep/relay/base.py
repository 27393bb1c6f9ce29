"""The relay's state: what every part of it reads and writes, and its constants."""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from typing import Any

from agentkeep.bus.base import EventBus
from agentkeep.store import SqlStore

# The package's name: every part of the relay logs as "agentkeep.relay".
log = logging.getLogger("agentkeep.relay")

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


class RelayBase:
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

    def _enter_backlog(self) -> None:
        # The queued rows are safe in the outbox; the claims publish them in order.
        self.mode = Mode.BACKLOG
        self._queue.clear()
        self._held.clear()
