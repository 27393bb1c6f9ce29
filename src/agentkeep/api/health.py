"""Liveness, readiness and metrics. No credentials are checked here, except on ``/metrics``
when ``AGENTKEEP_METRICS_REQUIRE_KEY`` asks for a configured API key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from agentkeep import errors
from agentkeep.api import responses, wire
from agentkeep.api.deps import api_key_of
from agentkeep.domain import models
from agentkeep.metrics import Metrics

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz", response_model=wire.Health)
async def healthz() -> Response:
    return responses.json({"status": "ok"})


async def _check(probe: Callable[[], Awaitable[Any]], pending: set[asyncio.Task[Any]]) -> str:
    """Run ``probe``; report an error or a timeout, never raise.

    A probe that outlives the timeout is left to finish, not cancelled: cancelling a
    driver call mid-flight strands aiosqlite's worker thread, which then reports to a loop
    that may be closed. ``pending`` keeps it referenced until the app shuts down.
    """
    task: asyncio.Task[Any] = asyncio.ensure_future(probe())
    pending.add(task)
    task.add_done_callback(pending.discard)
    done, _ = await asyncio.wait({task}, timeout=CHECK_TIMEOUT_SECONDS)
    if not done:
        return "error: timed out"
    exc = task.exception()
    return "ok" if exc is None else f"error: {type(exc).__name__}"


async def drain_probes(pending: set[asyncio.Task[Any]]) -> None:
    """Wait for probes still running (at shutdown, before the store closes)."""
    if pending:
        await asyncio.wait(list(pending))


async def _ready(request: Request) -> Response:
    state = request.app.state
    pending: set[asyncio.Task[Any]] = state.probes
    checks = {"database": await _check(state.store.ping, pending)}
    checks["redis" if state.settings.redis_url else "bus"] = await _check(state.bus.ping, pending)
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "degraded", "checks": checks}
    return responses.json(body, 200 if ok else 503)


router.add_api_route(
    "/readyz",
    _ready,
    methods=["GET"],
    response_model=wire.Health,
    responses={503: {"model": wire.Health, "description": "A dependency is down"}},
)
router.add_api_route("/healthcheck", _ready, methods=["GET"], include_in_schema=False)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    state = request.app.state
    settings = state.settings
    # An API key only: an agent key is no operator's credential.
    if settings.metrics_require_key and settings.api_key_set.name_of(api_key_of(request)) is None:
        raise errors.Unauthorized()
    registry: Metrics = state.metrics
    # The outbox is shared by every process: read it when scraped rather than per change.
    # Bounded like the readiness probes (and, like them, never cancelled mid-call).
    stats: asyncio.Task[Any] = asyncio.ensure_future(state.store.outbox_stats())
    state.probes.add(stats)
    stats.add_done_callback(state.probes.discard)
    done, _ = await asyncio.wait({stats}, timeout=CHECK_TIMEOUT_SECONDS)
    # A database that is away leaves the gauges as they were: the watchdog logs it.
    if done and stats.exception() is None:
        backlog, oldest = stats.result()
        registry.outbox_backlog.set(backlog)
        age = (models.utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        registry.outbox_lag.set(max(age, 0.0))
    body, content_type = registry.render()
    return Response(body, media_type=content_type)
