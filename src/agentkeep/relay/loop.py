"""The relay's loop: a pass on every wake-up and every ``poll_seconds``, until stopped."""

from __future__ import annotations

import asyncio

from agentkeep import background
from agentkeep.relay.base import HOLD_RECHECK_SECONDS, MIN_BACKOFF_SECONDS, log
from agentkeep.relay.fast import FastPathMixin


class Relay(FastPathMixin):
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        """Run the relay in the background until ``stop``."""
        self._task = asyncio.create_task(self.run(), name="agentkeep-relay")

    async def run(self) -> None:
        """Relay until ``stop``: on every wake-up and every ``poll_seconds``; back off on
        failure."""
        # A failed pass (bus or database briefly away) leaves the rows safe in the outbox.
        backoff = background.Backoff(MIN_BACKOFF_SECONDS, self.max_backoff_seconds)
        await background.loop(
            "outbox relay", log, self._pass, self._stopping, backoff, rest=self._idle
        )
        await self._last_pass()

    async def _pass(self) -> None:
        # Cleared before the pass: a change committed during it wakes the next one.
        self._wake.clear()
        await self.step()
        await self._settle_if_due()

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
