"""``create_app``: the one place that wires settings, store, lifecycle and routes.

No module-level state: everything a request needs hangs off ``app.state``, built by the
lifespan unless the caller injected it (tests inject real stores on real databases).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from prometheus_client import CollectorRegistry, Counter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentkeep import background, errors, relay, sweeper
from agentkeep.acp import runtime as acp_runtime
from agentkeep.acp.client import AgentClient
from agentkeep.api import (
    agent_keys,
    agents,
    deployment_history,
    deployments,
    events,
    forwarding,
    health,
    messages,
    responses,
    rpc,
    spans,
    states,
    streams,
    tasks,
    tracker,
    transitions,
    webhooks,
)
from agentkeep.api.fastpath import TaskReadFastPath
from agentkeep.bus.base import EventBus
from agentkeep.bus.memory import InMemoryBus
from agentkeep.bus.redis import RedisStreamsBus
from agentkeep.fanout import Fanout
from agentkeep.lifecycle import Lifecycle
from agentkeep.rpc.context import Services
from agentkeep.settings import CONTRACT_VERSION, Settings
from agentkeep.store import SqlStore
from agentkeep.store.changes import Change

log = logging.getLogger(__name__)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit():
            # The server holds the client to its declared length, so checking it suffices.
            if int(declared) > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # A chunked body has no declared length: read it here, so that an oversized one is
        # refused with 413 before any route parses it (FastAPI would turn an error raised
        # mid-parse into a generic 400).
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            seen += len(message.get("body", b""))
            if seen > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)


def _too_large_message(limit: int) -> str:
    return f"Request body too large: the limit is {limit} bytes (AGENTKEEP_MAX_BODY_BYTES)."


def _too_large(limit: int) -> Response:
    return responses.error_response(errors.PayloadTooLarge(_too_large_message(limit)))


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.AgentkeepError)
    async def _ours(_: Request, exc: errors.AgentkeepError) -> Response:
        return responses.error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"])
        message = f"Invalid request: {where}: {first['msg']}" if where else "Invalid request"
        return responses.json(responses.envelope(message, 422, {"errors": details}), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        return responses.json(responses.envelope(str(exc.detail), exc.status_code), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Never echo exception text: it can carry SQL, URLs or secrets.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return responses.json(responses.envelope("Internal server error", 500), 500)


def create_app(
    settings: Settings,
    *,
    store: SqlStore | None = None,
    bus: EventBus | None = None,
    agent_client: AgentClient | None = None,
    http: httpx.AsyncClient | None = None,
) -> FastAPI:
    """Build the ASGI app. Injected collaborators are used as given and not closed."""
    app = FastAPI(
        title="agentkeep",
        version=CONTRACT_VERSION,
        lifespan=_lifespan(settings, store, bus, agent_client, http),
        docs_url="/swagger",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics_registry = CollectorRegistry()
    app.state.count_change = _change_counter(app.state.metrics_registry)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    # Added last, so outermost: the plain task read skips the router entirely.
    app.add_middleware(TaskReadFastPath)
    _install_error_handlers(app)
    # The forward ingress first: its paths must never be read as ``/agents/{agent_id}/…``.
    app.include_router(forwarding.router)
    for module in (health, agents, rpc, tasks, transitions, streams, messages, states, events):
        app.include_router(module.router)
    app.include_router(tracker.router)
    app.include_router(spans.router)
    for platform in (deployments, deployment_history, webhooks, agent_keys):
        app.include_router(platform.router)

    @app.get("/docs", include_in_schema=False)
    async def _docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="agentkeep")

    return app


def _lifespan(
    settings: Settings,
    store: SqlStore | None,
    bus: EventBus | None,
    agent_client: AgentClient | None,
    http: httpx.AsyncClient | None,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """Build what was not injected, put it on ``app.state``, and tear it down in reverse."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            own_store = store or SqlStore(settings.database_url, pool_size=settings.db_pool_size)
            if store is None:
                stack.push_async_callback(own_store.close)
            lifecycle = Lifecycle(
                own_store, default_timeout_seconds=settings.default_task_timeout_seconds
            )
            app.state.store = own_store
            app.state.lifecycle = lifecycle
            own_bus = bus or _make_bus(settings)
            if bus is None:
                stack.push_async_callback(own_bus.close)
            app.state.bus = own_bus
            lifecycle.on_commit(app.state.count_change)
            await acp_runtime.start(
                stack,
                app.state,
                settings,
                own_store,
                lifecycle,
                agent_client=agent_client,
                http=http,
            )
            app.state.rpc_services = Services(
                own_store, lifecycle, own_bus, app.state.agent_client, settings
            )
            app.state.fanout = await _start_streams(stack, settings, lifecycle, own_bus)
            if settings.background_workers:
                stop = asyncio.Event()
                sweep = asyncio.create_task(
                    sweeper.run(lifecycle, settings.sweep_interval_seconds, stop),
                    name="agentkeep-sweeper",
                )
                stack.push_async_callback(background.finish, sweep)
                stack.callback(stop.set)
            yield

    return lifespan


def _make_bus(settings: Settings) -> EventBus:
    if settings.redis_url:
        return RedisStreamsBus(
            settings.redis_url,
            maxlen=settings.stream_maxlen,
            ttl_seconds=settings.stream_ttl_seconds,
        )
    return InMemoryBus(settings.stream_maxlen, settings.stream_ttl_seconds)


async def _start_streams(
    stack: contextlib.AsyncExitStack, settings: Settings, lifecycle: Lifecycle, bus: EventBus
) -> Fanout:
    """The per-process stream reader, and the outbox relay when this process runs workers."""
    fanout = Fanout(bus, queue_size=settings.sse_queue_size)
    fanout.start()
    stack.push_async_callback(fanout.close)
    if settings.background_workers:
        outbox_relay = relay.Relay(lifecycle.store, bus, poll_seconds=settings.outbox_poll_seconds)
        # Handed every change this process commits: the relay publishes within milliseconds.
        lifecycle.on_commit(outbox_relay.on_commit)
        outbox_relay.start()
        # Stopped between passes, not cancelled inside a database call (see ``background``).
        stack.push_async_callback(outbox_relay.stop)
    return fanout


def _change_counter(registry: CollectorRegistry) -> Any:
    counter = Counter(
        "agentkeep_task_changes",
        "Committed task changes by new status",
        ["status"],
        registry=registry,
    )

    async def count(row: dict[str, Any], _change: Change) -> None:
        counter.labels(row["status"]).inc()

    return count
