"""Liveness, readiness and metrics. No credentials are checked here, except on ``/metrics``
when ``AGENTKEEP_METRICS_REQUIRE_KEY`` asks for a configured API key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from agentkeep import errors
from agentkeep.api import responses, wire
from agentkeep.api.deps import api_key_of
from agentkeep.domain import models
from agentkeep.metrics import Metrics

TAGS: list[str | Enum] = ["health"]
router = APIRouter(tags=TAGS)

CHECK_TIMEOUT_SECONDS = 2.0

#: What ``/healthz`` answers: the process is up (its dependencies are ``/readyz``'s).
HEALTHY = {"status": "ok"}
_HEALTHY_BODY = orjson.dumps(HEALTHY)
_HEALTHY_HEADERS = (
    (b"content-length", str(len(_HEALTHY_BODY)).encode()),
    (b"content-type", b"application/json"),
)


# The liveness probe as OpenAPI documents it (no docstring: it would become the schema's
# description); ``HealthzRoute`` answers the same bytes.
async def healthz() -> Response:
    return responses.json(HEALTHY)


class HealthzRoute(APIRoute):
    """``GET /healthz``, answered as plain ASGI.

    The probe takes no input and its answer never changes, yet FastAPI's request handling
    (a ``Request``, two exit stacks, dependency solving) cost more CPU than the rest of the
    request. The route still sits in the router, behind every middleware, so the probe (and
    ``bench``'s ``health`` phase, the ceiling of the stack) goes through the whole stack.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = _answer_healthy


async def _answer_healthy(scope: Scope, receive: Receive, send: Send) -> None:
    # A new header list each time: a middleware (CORS) may append to the one it is sent.
    await send({"type": "http.response.start", "status": 200, "headers": [*_HEALTHY_HEADERS]})
    await send({"type": "http.response.body", "body": _HEALTHY_BODY})


def install(app: FastAPI) -> None:
    """The probes first in the router (``/healthz`` on the app's own router: an included
    route would be answered by FastAPI's handler, not by ``HealthzRoute``)."""
    app.router.add_api_route(
        "/healthz",
        healthz,
        methods=["GET"],
        response_model=wire.Health,
        tags=TAGS,
        responses=wire.ERRORS,
        route_class_override=HealthzRoute,
    )
    app.include_router(router, responses=wire.ERRORS)


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
