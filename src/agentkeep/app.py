"""``create_app``: the one place that wires settings, store, lifecycle and routes.

No module-level state: everything a request needs hangs off ``app.state``, built by the
lifespan unless the caller injected it (tests inject real stores on real databases).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from agentkeep import background, errors, logs, relay, serving, sweeper, watchdog
from agentkeep.acp import runtime as acp_runtime
from agentkeep.acp.client import AgentClient
from agentkeep.api import (
    agent_keys,
    agents,
    checkpoints,
    deployment_history,
    deployments,
    docs,
    events,
    forwarding,
    health,
    key_rotation,
    messages,
    responses,
    retention,
    rpc,
    schedules,
    session,
    spans,
    states,
    streams,
    tasks,
    tracker,
    transitions,
    webhooks,
    wire,
    workflows,
)
from agentkeep.api.bodylimit import BodyLimit
from agentkeep.api.fastpath import TaskReadFastPath
from agentkeep.api.nulguard import NulGuard
from agentkeep.bus.base import EventBus
from agentkeep.bus.memory import InMemoryBus
from agentkeep.bus.redis import RedisStreamsBus
from agentkeep.domain import jsonlimits
from agentkeep.fanout import Fanout
from agentkeep.lifecycle import Lifecycle
from agentkeep.metrics import Metrics
from agentkeep.retention import sweep as retention_sweep
from agentkeep.rpc.context import Services
from agentkeep.schedules.loop import Scheduler
from agentkeep.schedules.metrics import SchedulerMetrics
from agentkeep.settings import CONTRACT_VERSION, Settings
from agentkeep.store import SqlStore
from agentkeep.store.engine import Timeouts
from agentkeep.web import views as web

log = logging.getLogger(__name__)


#: FastAPI's answer to a body its JSON parser gave up on (nested ~1000 levels deep, an
#: integer of more than 4300 digits), said so that the client knows what to fix.
_FASTAPI_UNPARSABLE = "There was an error parsing the body"
_UNPARSABLE = (
    f"Request body refused: it is not JSON this server can read (nested more than "
    f"{jsonlimits.MAX_DEPTH} levels deep, or a number too long)."
)


#: What a request whose client left before sending its whole body is counted as (nginx's
#: "client closed request"): not a 500 of ours, nor a 400 of the client's making.
CLIENT_CLOSED = 499


def _client_gone(request: Request) -> Response:
    # Routine on a busy server, and nobody is left to read the answer: one line, at debug.
    log.debug("client left before sending its body: %s %s", request.method, request.url.path)
    body = responses.envelope("Client closed the request", CLIENT_CLOSED)
    return responses.json(body, CLIENT_CLOSED)


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

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> Response:
        return _client_gone(request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, ClientDisconnect):
            return _client_gone(request)  # FastAPI's 400 for a body it could not read
        message = _UNPARSABLE if exc.detail == _FASTAPI_UNPARSABLE else str(exc.detail)
        return responses.json(responses.envelope(message, exc.status_code), exc.status_code)

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
        docs_url=None,
        redoc_url=None,
        # FastAPI's own OpenTelemetry instrumentation, off: agentkeep reports through
        # ``/metrics`` and its access log, and the check whether a provider is configured
        # cost every request three environment lookups.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.metrics = Metrics(CollectorRegistry(), settings.metrics_multiprocess_dir)
    app.state.probes = set()  # readiness probes still running (see ``health._check``)
    _install_middleware(app, settings)
    _install_error_handlers(app)
    _install_routes(app)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    """Added innermost first: each ``add_middleware`` wraps the ones before it."""
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(session.CookieGuard, enabled=bool(settings.api_key_set))
    # Added after the body limit, so outside it: the plain task read skips the router.
    app.add_middleware(TaskReadFastPath, state=app.state)
    if settings.cors_origin_list:
        _install_cors(app, settings.cors_origin_list)
    # One answer for a NUL in a URL, whichever path serves it.
    app.add_middleware(NulGuard)
    # Outermost: every request is counted, the fast lane's and refused ones included.
    app.add_middleware(logs.RequestTelemetry, metrics=app.state.metrics, access=settings.access_log)


def _install_routes(app: FastAPI) -> None:
    # The probes first: nothing else is matched before them (none of their paths overlaps).
    health.install(app)
    # Then the forward ingress: its paths must never be read as ``/agents/{agent_id}/…``.
    app.include_router(forwarding.router, responses=wire.ERRORS)
    # Then the busiest first: a request is matched against every route before its own.
    # Where two routers' paths overlap, the earlier one wins and the order below is the
    # contract (tests/api/test_route_order.py): tasks before streams and retention (the
    # ``/tasks/name/…`` reads), streams before workflows, agents before schedules and
    # deployments (``/agents/name/…``).
    app.include_router(rpc.router, responses=wire.RPC_RESPONSES)
    for module in (transitions, tasks, streams, messages, states, events, agents):
        app.include_router(module.router, responses=wire.ERRORS)
    for extra in (
        tracker,
        spans,
        key_rotation,
        session,
        schedules,
        checkpoints,
        retention,
        workflows,
        deployments,
        deployment_history,
        webhooks,
        agent_keys,
    ):
        app.include_router(extra.router, responses=wire.ERRORS)
    docs.install(app)
    app.include_router(web.router)  # the UI: /ui, /ui/tasks/{id}, /ui/static/..., and / -> /ui


def _install_cors(app: FastAPI, origins: list[str]) -> None:
    from starlette.middleware.cors import CORSMiddleware

    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["*"],
        allow_headers=["*"],
        # Clients read these: the task version and the stream's resume cursor.
        expose_headers=["ETag", "Last-Event-ID"],
    )


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
            own_store = store or SqlStore(
                settings.database_url,
                pool_size=settings.db_pool_size,
                agent_key_secret=settings.agent_key_secret_bytes,
                timeouts=Timeouts(settings.db_connect_timeout_seconds, settings.db_timeout_seconds),
            )
            if store is None:
                stack.push_async_callback(own_store.close)
            lifecycle = Lifecycle(
                own_store, default_timeout_seconds=settings.default_task_timeout_seconds
            )
            app.state.store = own_store
            # Pushed after the store's close, so it runs before it (last in, first out).
            stack.push_async_callback(health.drain_probes, app.state.probes)
            app.state.lifecycle = lifecycle
            own_bus = bus or _make_bus(settings)
            if bus is None:
                stack.push_async_callback(own_bus.close)
            app.state.bus = own_bus
            metrics: Metrics = app.state.metrics
            lifecycle.on_commit(metrics.count_change)
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
            app.state.fanout = await _start_streams(stack, settings, lifecycle, own_bus, metrics)
            # On SIGTERM/SIGINT under ``serve``: end open streams first (see ``serving``).
            stack.callback(serving.close_streams_on_exit(app.state.fanout.close_viewers))
            app.state.scheduler = _start_scheduler(stack, app, settings)
            stop = asyncio.Event()
            if settings.background_workers:
                _start_sweeps(stack, settings, lifecycle, metrics, stop)
            _start_watchdog(stack, settings, own_store, own_bus, metrics, stop)
            stack.callback(stop.set)
            yield

    return lifespan


def _start_sweeps(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    lifecycle: Lifecycle,
    metrics: Metrics,
    stop: asyncio.Event,
) -> None:
    """The deadline sweeper and, when configured, the retention sweep; both stop on ``stop``
    and are awaited (not cancelled mid-query) before the store closes."""
    sweep = asyncio.create_task(
        sweeper.run(lifecycle, settings.sweep_interval_seconds, stop, metrics),
        name="agentkeep-sweeper",
    )
    stack.push_async_callback(background.finish, sweep)
    if settings.retention_sweep_cron:
        retention_job = asyncio.create_task(
            retention_sweep.run(lifecycle.store, settings, stop),
            name="agentkeep-retention-sweep",
        )
        stack.push_async_callback(background.finish, retention_job)


def _start_scheduler(
    stack: contextlib.AsyncExitStack, app: FastAPI, settings: Settings
) -> Scheduler | None:
    """The schedule loop (``AGENTKEEP_SCHEDULER_ENABLED``), stopped before the store closes."""
    if not (settings.scheduler_enabled and settings.background_workers):
        return None
    metrics = SchedulerMetrics.register(app.state.metrics.registry)
    scheduler = Scheduler(app.state.rpc_services, metrics)
    scheduler.start()
    stack.push_async_callback(scheduler.stop)
    return scheduler


def _make_bus(settings: Settings) -> EventBus:
    if settings.redis_url:
        return RedisStreamsBus(
            settings.redis_url,
            maxlen=settings.stream_maxlen,
            ttl_seconds=settings.stream_ttl_seconds,
        )
    return InMemoryBus(
        settings.stream_maxlen, settings.stream_ttl_seconds, max_bytes=settings.stream_max_bytes
    )


def _start_watchdog(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    store: SqlStore,
    bus: EventBus,
    metrics: Metrics,
    stop: asyncio.Event,
) -> None:
    probes: dict[str, watchdog.Probe] = {"database": store.ping}
    if settings.redis_url and hasattr(bus, "ping"):
        probes["redis"] = bus.ping
    dog = watchdog.Watchdog(probes, metrics.dependency_up, settings.dependency_check_seconds)
    task = asyncio.create_task(dog.run(stop), name="agentkeep-watchdog")
    stack.push_async_callback(background.finish, task)


async def _start_streams(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    lifecycle: Lifecycle,
    bus: EventBus,
    metrics: Metrics,
) -> Fanout:
    """The per-process stream reader, and the outbox relay when this process runs workers."""
    fanout = Fanout(bus, queue_size=settings.sse_queue_size, viewers=metrics.sse_viewers)
    # Before the relay's hook: a change is known to have ended its task before it is out.
    lifecycle.on_commit(fanout.on_commit)
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
