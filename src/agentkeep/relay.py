"""The outbox relay: every server process moves committed ``task_updated`` rows to the bus.

At least once, in order per task: rows are published oldest first and a failure stops the
batch, so a later version never overtakes an earlier one. While the bus is unreachable the
relay retries with backoff; the rows wait safely in the database. A row whose earlier
publish had an unknown outcome (the call failed after it may have reached Redis) is looked
up in the stream's tail first and only published if absent, so the stream normally carries
each change once; each SSE connection still drops a repeated (task id, version).

The lifecycle's after-commit hook wakes the relay at once (a viewer sees a transition
within milliseconds); a periodic poll picks up rows committed by processes that died
before relaying, or by the sweeper of another process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from agentkeep import errors
from agentkeep.bus.base import EventBus
from agentkeep.store import SqlStore
from agentkeep.store.outbox import OutboxClaim

log = logging.getLogger(__name__)

#: How far back the tail check looks for an already-published change.
TAIL_CHECK_ENTRIES = 200


class Relay:
    def __init__(
        self,
        store: SqlStore,
        bus: EventBus,
        *,
        poll_seconds: float = 1.0,
        batch: int = 200,
        max_backoff_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.bus = bus
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.max_backoff_seconds = max_backoff_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def on_commit(self, _row: dict[str, Any], _actor: str) -> None:
        """The lifecycle hook: a change just committed, relay it now."""
        self.wake()

    async def relay_once(self) -> int:
        """Publish one batch; return how many rows were delivered.

        Raises ``errors.BusUnavailable`` after settling what was done before the failure.
        """
        async with self.store.claim_outbox(self.batch) as claim:
            await self._publish(claim)
        return len(claim.delivered)

    async def _publish(self, claim: OutboxClaim) -> None:
        for row in claim.rows:
            try:
                if row["attempts"] and await self._already_published(row):
                    claim.delivered.append(row["id"])
                    continue
                await self.bus.append(row["task_id"], row["payload"])
            except errors.BusUnavailable:
                # The outcome is unknown: the entry may have been written before the
                # connection failed. Count the attempt so the retry checks the tail first.
                claim.attempted.append(row["id"])
                raise
            claim.delivered.append(row["id"])

    async def _already_published(self, row: dict[str, Any]) -> bool:
        for entry in reversed(await self.bus.tail(row["task_id"], TAIL_CHECK_ENTRIES)):
            event = entry.event
            if event.get("type") != "task_updated":
                continue
            task = event.get("task") or {}
            if task.get("id") == row["task_id"] and task.get("version") == row["version"]:
                return True
        return False

    async def drain(self) -> int:
        """Relay until the outbox is empty (or the bus fails); return rows delivered."""
        total = 0
        while delivered := await self.relay_once():
            total += delivered
        return total

    async def run(self) -> None:
        """Relay forever: on every wake-up and every ``poll_seconds``; back off on failure."""
        backoff = 0.05
        while True:
            # Cleared before the pass: a change committed during it wakes the next one.
            self._wake.clear()
            try:
                await self.drain()
            except Exception as exc:
                # Bus or database briefly away: the rows are safe in the outbox. Wake-ups
                # are ignored while backing off, or a burst of changes would hammer it.
                if isinstance(exc, errors.BusUnavailable):
                    log.warning("outbox relay: bus unavailable, retrying in %.2fs", backoff)
                else:
                    log.exception("outbox relay failed; retrying in %.2fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_seconds)
                continue
            backoff = 0.05
            try:
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
