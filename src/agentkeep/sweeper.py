"""The deadline sweeper: every server process moves overdue tasks to TIMED_OUT.

Several processes may sweep the same task at once; the compare-and-set in the store lets
exactly one of them change it, and the others see ``None`` and move on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from agentkeep import background
from agentkeep.domain import models
from agentkeep.lifecycle import Lifecycle

log = logging.getLogger(__name__)


async def sweep_once(lifecycle: Lifecycle, now: datetime | None = None) -> int:
    """Time out every task overdue at ``now`` (default: the clock); return how many this
    call changed."""
    changed = 0
    for task_id in await lifecycle.store.overdue_task_ids(now or models.utcnow()):
        if await lifecycle.time_out(task_id) is not None:
            changed += 1
    return changed


async def run(
    lifecycle: Lifecycle, interval_seconds: float, stop: asyncio.Event, metrics: Any = None
) -> None:
    """Sweep until ``stop`` is set; a failed sweep (database briefly away) is retried.

    Stopping waits for the sweep in progress (see ``background``): cancelling one in the
    middle of a query would leave its connection half-closed.
    """

    async def sweep() -> None:
        changed = await sweep_once(lifecycle)
        if metrics is not None:
            metrics.swept(changed)

    def failed(_: Exception) -> None:
        if metrics is not None:
            metrics.sweeper_failures.inc()

    async def rest() -> None:
        await background.idle(stop, interval_seconds)

    # No growing backoff: a failed sweep is retried at the sweep interval.
    every = background.Backoff(interval_seconds, interval_seconds)
    await background.loop("deadline sweep", log, sweep, stop, every, rest=rest, on_failure=failed)
