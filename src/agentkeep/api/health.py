"""Liveness, readiness and metrics. No credentials are checked here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agentkeep.api import responses

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
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


router.add_api_route("/readyz", _ready, methods=["GET"])
router.add_api_route("/healthcheck", _ready, methods=["GET"], include_in_schema=False)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST
    )
