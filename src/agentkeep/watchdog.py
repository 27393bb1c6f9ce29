"""Each process checks its database and Redis and logs when one goes away and comes back.

Without it an outage shows only as scattered request errors; with it the log has one
line when a dependency stops answering and one when it answers again (with how long it was
away), and ``agentkeep_dependency_up`` follows the same state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from agentkeep import background

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0

Probe = Callable[[], Awaitable[Any]]


class Watchdog:
    def __init__(self, probes: dict[str, Probe], gauge: Any, interval_seconds: float) -> None:
        self.probes = probes
        self.gauge = gauge
        self.interval_seconds = interval_seconds
        #: When each dependency that is down was first seen down (monotonic clock).
        self.down_since: dict[str, float] = {}
        #: Probes that outlived their timeout, left to finish (see ``check``).
        self.pending: set[asyncio.Task[Any]] = set()

    async def check(self, name: str) -> None:
        # Not cancelled on timeout: cancelling a driver call mid-flight strands aiosqlite's
        # worker thread (``health._check`` does the same).
        probe: asyncio.Task[Any] = asyncio.ensure_future(self.probes[name]())
        self.pending.add(probe)
        probe.add_done_callback(self._settled)
        done, _ = await asyncio.wait({probe}, timeout=CHECK_TIMEOUT_SECONDS)
        exc = probe.exception() if done else TimeoutError(f"no answer in {CHECK_TIMEOUT_SECONDS}s")
        if exc is not None:  # any failure means "not answering": reported, not raised
            if name not in self.down_since:
                self.down_since[name] = time.monotonic()
                log.error("%s unreachable: %s", name, _describe(exc))
            self.gauge.labels(name).set(0)
            return
        since = self.down_since.pop(name, None)
        if since is not None:
            log.warning("%s reachable again after %.1fs", name, time.monotonic() - since)
        self.gauge.labels(name).set(1)

    def _settled(self, probe: asyncio.Task[Any]) -> None:
        self.pending.discard(probe)
        if not probe.cancelled():
            # A probe that fails after its timeout was already reported (as the timeout);
            # taking its exception here keeps asyncio from logging it again, as a traceback
            # "never retrieved", when the task is collected.
            probe.exception()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for name in self.probes:
                await self.check(name)
            await background.idle(stop, self.interval_seconds)
        if self.pending:  # before the store and bus close under them
            await asyncio.wait(list(self.pending))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
