"""Background loops: one shape for each (``loop``), and stopping them without cancelling
them in the middle of a database call.

A loop retries a failed pass after a backoff, with one warning line when the bus or the
database is away (an outage, not a bug) and a traceback for anything else.

Cancelling a task while it awaits an aiosqlite query leaves SQLAlchemy's connection-close
task pending, which later fails in aiosqlite's thread with "Event loop is closed". So a
loop is asked to stop first (it checks an event between iterations and its idle waits
return at once), and is cancelled only if it overstays ``grace_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agentkeep import errors
from agentkeep.store import dberrors

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


@dataclass
class Backoff:
    """How long to wait after a failed pass: ``first``, doubled after each further failure
    up to ``most``; ``first`` again once a pass works."""

    first: float
    most: float
    current: float = field(init=False)

    def __post_init__(self) -> None:
        self.current = self.first

    def failed(self) -> float:
        wait = self.current
        self.current = min(self.current * 2, self.most)
        return wait

    def reset(self) -> None:
        self.current = self.first


async def loop(
    what: str,
    logger: logging.Logger,
    attempt: Callable[[], Awaitable[Any]],
    stop: asyncio.Event,
    backoff: Backoff,
    *,
    rest: Callable[[], Awaitable[Any]] | None = None,
    retry_on: tuple[type[Exception], ...] = (Exception,),
    on_failure: Callable[[Exception], None] | None = None,
) -> None:
    """Run ``attempt`` until ``stop`` is set, then ``rest`` after each one that worked.

    A failure (of the ``retry_on`` kinds) is logged as ``what`` on ``logger`` and retried
    after the backoff; ``stop`` ends that wait at once, nothing else does (wake-ups during
    an outage would hammer what is away).
    """
    while not stop.is_set():
        try:
            await attempt()
        except retry_on as exc:
            if on_failure is not None:
                on_failure(exc)
            wait = backoff.failed()
            log_failure(logger, what, exc, wait)
            await idle(stop, wait)
            continue
        backoff.reset()
        if rest is not None:
            await rest()


def log_failure(logger: logging.Logger, what: str, exc: Exception, retry_in: float) -> None:
    """One line for an outage (bus or database away), a traceback for anything else."""
    if isinstance(exc, errors.BusUnavailable):
        logger.warning("%s: bus unavailable, retrying in %.2fs", what, retry_in)
    elif isinstance(exc, errors.Unavailable) or dberrors.is_unavailable(exc):
        logger.warning("%s: database unavailable, retrying in %.2fs", what, retry_in)
    else:
        logger.exception("%s failed; retrying in %.2fs", what, retry_in)
