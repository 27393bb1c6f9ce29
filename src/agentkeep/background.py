"""Stopping background loops without cancelling them in the middle of a database call.

Cancelling a task while it awaits an aiosqlite query leaves SQLAlchemy's connection-close
task pending, which later fails in aiosqlite's thread with "Event loop is closed". So a
loop is asked to stop first (it checks an event between iterations and its idle waits
return at once), and is cancelled only if it overstays ``grace_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

#: How long a loop asked to stop may take to finish its current iteration.
STOP_GRACE_SECONDS = 5.0


async def idle(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; True if the event was set."""
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(max(seconds, 0)):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def finish(task: asyncio.Task[Any] | None, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    """Wait for ``task`` (already told to stop) to return; cancel it after the grace.

    ``asyncio.wait`` never cancels what it waits for, so the grace period cannot interrupt
    a database call half-way.
    """
    if task is None or task is asyncio.current_task():
        return
    done, _ = await asyncio.wait({task}, timeout=grace_seconds)
    if not done:
        log.warning("%s did not stop within %.1fs; cancelling it", task.get_name(), grace_seconds)
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # the caller itself is being cancelled
    except Exception:
        log.exception("%s failed while stopping", task.get_name())
