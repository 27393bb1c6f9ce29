"""Liveness, readiness and metrics. No credentials are checked here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from agentkeep.api import responses
from agentkeep.domain import models
from agentkeep.metrics import Metrics

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> Response:
    return responses.json({"status": "ok"})


async def _check(probe: Callable[[], Awaitable[Any]]) -> str:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # a failed dependency is reported, never raised
        return f"error: {type(exc).__name__}"
    return "ok"


async def _ready(request: Request) -> Response:
    state = request.app.state
    checks = {"database": await _check(state.store.ping)}
    bus = getattr(state, "bus", None)
    if bus is not None and hasattr(bus, "ping"):
        checks["redis" if state.settings.redis_url else "bus"] = await _check(bus.ping)
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "degraded", "checks": checks}
    return responses.json(body, 200 if ok else 503)


router.add_api_route("/readyz", _ready, methods=["GET"])
router.add_api_route("/healthcheck", _ready, methods=["GET"], include_in_schema=False)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    state = request.app.state
    registry: Metrics = state.metrics
    # The outbox is shared by every process: read it when scraped rather than per change.
    try:
        backlog, oldest = await asyncio.wait_for(state.store.outbox_stats(), CHECK_TIMEOUT_SECONDS)
    except Exception:  # the database is away: the watchdog logs it; the rest still renders
        pass
    else:
        registry.outbox_backlog.set(backlog)
        age = (models.utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        registry.outbox_lag.set(max(age, 0.0))
    body, content_type = registry.render()
    return Response(body, media_type=content_type)
