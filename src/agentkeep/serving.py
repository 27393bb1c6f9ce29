"""How ``agentkeep serve`` runs uvicorn: open-file budget, back-pressure, clean shutdown.

* **Open files.** Every connection, database connection and Redis connection is a file
  descriptor; at the common soft limit of 1,024 a busy process runs out and fails in odd
  places (``accept`` dropping viewers, ``Too many open files`` inside a driver). ``serve``
  raises the soft limit to the hard limit and logs the result.
* **Back-pressure.** From that limit, minus what the process needs for its own pools, comes
  uvicorn's ``limit_concurrency``: a connection beyond it is answered 503 instead of being
  accepted into a process that has no descriptor left. SSE viewers hold their connection,
  so they are capped below that (``AGENTKEEP_MAX_VIEWERS``), leaving room for requests.
* **A settled heap.** After startup the process holds ~170k long-lived objects (modules,
  routes, pydantic models) that every full garbage collection would walk again, a pause
  of 100+ ms under load; they are moved out of the collector's sight once startup is done.
* **Shutdown.** uvicorn waits for open responses before it shuts down, and an SSE stream
  never ends by itself: on SIGTERM/SIGINT every stream is ended at once with a final frame
  (clients resume elsewhere by ``Last-Event-ID``), then in-flight requests finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import resource
import signal
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from agentkeep import logs, slowclients
from agentkeep.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

#: Descriptors a process needs besides its pools: listening socket, event loop, logs,
#: agent connections, the Python runtime itself.
BASE_RESERVE = 150
#: A database connection costs one descriptor on Postgres, up to three on SQLite (the
#: file, its WAL and shared memory); a pool may double with overflow, plus the fast reader.
FILES_PER_POOLED_CONNECTION = 3
#: Connections kept for ordinary requests when viewers are at their cap.
MIN_REQUEST_HEADROOM = 8


@dataclass(frozen=True, slots=True)
class Capacity:
    open_files: int
    connections: int
    viewers: int


def raise_open_file_limit() -> tuple[int, str]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the limit now in force and a
    line saying what was done."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft >= hard:
        return soft, f"open files: limit {soft}"
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        return soft, f"open files: could not raise the limit from {soft} to {hard} ({exc})"
    return hard, f"open files: soft limit raised from {soft} to {hard}"


def capacity(settings: Settings, open_files: int) -> Capacity:
    """What one process may accept with ``open_files`` descriptors."""
    reserve = BASE_RESERVE + FILES_PER_POOLED_CONNECTION * 2 * settings.db_pool_size
    connections = max(MIN_REQUEST_HEADROOM * 2, open_files - reserve)
    headroom = max(MIN_REQUEST_HEADROOM, connections // 10)
    viewers = max(1, min(settings.max_viewers, connections - headroom))
    return Capacity(open_files, connections, viewers)


def prepare(settings: Settings) -> tuple[Settings, Capacity, list[str]]:
    """Raise the open-file limit and size the process from it: the settings to serve with
    (viewers capped to what the descriptors allow), the capacity, and lines for the log."""
    open_files, line = raise_open_file_limit()
    cap = capacity(settings, open_files)
    lines = [line]
    if cap.viewers < settings.max_viewers:
        lines.append(
            f"open files: {open_files} allow {cap.viewers} viewers per process, fewer than "
            f"AGENTKEEP_MAX_VIEWERS ({settings.max_viewers}); raise the hard limit "
            "(ulimit -Hn) to accept more"
        )
    lines.append(f"capacity: {cap.connections} connections, {cap.viewers} viewers per process")
    return settings.model_copy(update={"max_viewers": cap.viewers}), cap, lines


def uvicorn_options(settings: Settings, cap: Capacity) -> dict[str, Any]:
    return {
        "log_level": settings.log_level,
        # uvicorn's loggers and ours (a line per schedule fire, relay and sweeper warnings),
        # as text or JSON lines (``AGENTKEEP_LOG_FORMAT``).
        "log_config": logs.uvicorn_config(settings),
        # Our own access log (``logs.RequestTelemetry``) carries route, latency, request id.
        "access_log": False,
        # Beyond this many connections (or requests), 503 rather than running out of files
        # (or holding more than AGENTKEEP_MAX_CONNECTIONS).
        "limit_concurrency": min(cap.connections, settings.max_connections),
        # Slow or idle clients must not hold connections: see ``slowclients`` and README.
        "http": slowclients.HeaderDeadlineProtocol,
        "timeout_keep_alive": settings.keepalive_timeout_seconds,
        # Open SSE streams are ended at shutdown (``close_streams_on_exit``); this bounds
        # what remains: requests still running after the grace are cancelled.
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
    }


def close_streams_on_exit(close: Callable[[], None]) -> Callable[[], None]:
    """When uvicorn's SIGTERM/SIGINT handler runs, call ``close`` (in the event loop) first,
    so open streams end at once instead of holding the shutdown for the whole grace.

    Only wraps handlers that belong to a uvicorn server (``serve``, any worker): an app run
    in-process by tests keeps the signals as they are. Returns the undo.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    installed: dict[int, tuple[Any, Any]] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not isinstance(getattr(previous, "__self__", None), uvicorn.Server):
            continue

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(close)
            previous(signum, frame)

        signal.signal(sig, handler)
        installed[sig] = (handler, previous)

    def undo() -> None:
        for sig, (handler, previous) in installed.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous)

    return undo


def settle_heap_after_startup(app: FastAPI) -> FastAPI:
    """Once the app has started, collect and then freeze what is alive (``gc.freeze``).

    For ``serve`` only: a process serves until it exits, so what startup built lives as
    long as the process and need never be scanned again. Tests that start and stop many
    apps in one process must not freeze each one's heap.
    """
    started = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with started(app) as state:
            gc.collect()
            gc.freeze()
            yield state

    app.router.lifespan_context = lifespan
    return app
