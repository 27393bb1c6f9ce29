"""The fast path: changes this process committed, published as their hooks hand them over."""

from __future__ import annotations

import asyncio
from operator import attrgetter

import orjson

from agentkeep import errors
from agentkeep.relay.base import SETTLE_DELAY_SECONDS, Mode, Queued
from agentkeep.relay.claims import ClaimsMixin
from agentkeep.store.changes import Change
from agentkeep.store.outbox import task_updated_event
from agentkeep.store.rows import TaskRow


class FastPathMixin(ClaimsMixin):
    @property
    def queued(self) -> int:
        return len(self._queue) + len(self._held)

    async def on_commit(self, row: TaskRow, _change: Change) -> None:
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
