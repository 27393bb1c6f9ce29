"""Backlog claims: the database is the queue (startup, after a failed publish, the poll)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from agentkeep import errors
from agentkeep.domain import models
from agentkeep.relay.base import TAIL_CHECK_ENTRIES, Mode
from agentkeep.relay.order import OrderMixin
from agentkeep.store.outbox import OutboxClaim


class ClaimsMixin(OrderMixin):
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
