"""Batched deletes: published rows leave the outbox in one statement, a little later."""

from __future__ import annotations

import asyncio

from agentkeep.relay.base import RelayBase


class SettleMixin(RelayBase):
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

    async def _settle_if_due(self) -> None:
        # The deletes wait a little (or for a full batch): right after a publish they would
        # compete with the fan-out for this event loop just when it delivers the frame, and
        # one statement then covers several changes.
        now = asyncio.get_running_loop().time()
        if self._delivered and (now >= self._settle_at or len(self._delivered) >= self.batch):
            await self.settle()
