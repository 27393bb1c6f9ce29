"""Logging: text or JSON lines (``AGENTKEEP_LOG_FORMAT``), and the request middleware that
counts every request and, with ``AGENTKEEP_ACCESS_LOG``, logs it.

``uvicorn_config`` is handed to uvicorn, which applies it in the server process and in
every worker, so uvicorn's own lines and agentkeep's share one format.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentkeep.metrics import ROUTE_KEY, UNMATCHED, Metrics
from agentkeep.settings import Settings

access_log = logging.getLogger("agentkeep.access")

#: Methods counted under their own name; anything else a client invents is ``OTHER``, so
#: stray requests cannot multiply the metric series.
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

#: ``extra`` fields a JSON line carries when a record has them.
FIELDS = ("request_id", "method", "route", "path", "status", "latency_ms", "client")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                doc[key] = value
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def uvicorn_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's loggers and ours."""
    if settings.log_format == "json":
        formatter: dict[str, Any] = {"()": "agentkeep.logs.JsonFormatter"}
    else:
        formatter = {
            "()": "uvicorn.logging.DefaultFormatter",
            "fmt": "%(levelprefix)s %(message)s",
            "use_colors": None,
        }
    level = settings.log_level.upper()
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "uvicorn": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "agentkeep": {"handlers": ["main"], "level": level, "propagate": False},
        },
    }


class RequestTelemetry:
    """Pure ASGI middleware: per request, one counter and one histogram observation, and
    an access-log line when enabled. Kept this small on purpose: it runs for every request,
    the fast task read included."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering
        request_id = _request_id(scope) if self.access else None

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            label = route.path if route is not None else scope.get(ROUTE_KEY, UNMATCHED)
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            self.metrics.observe_request(method, label, status, elapsed)
            if request_id is not None:
                _log_access(scope, label, status, elapsed, request_id)


def _request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID``, or a new one passed on to the route (and so recorded
    in the task history) under the same header."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return str(value.decode("latin-1"))
    request_id = uuid.uuid4().hex
    scope["headers"] = [*scope["headers"], (b"x-request-id", request_id.encode())]
    return request_id


def _log_access(scope: Scope, route: str, status: int, seconds: float, request_id: str) -> None:
    latency_ms = round(seconds * 1000, 2)
    client = scope.get("client")
    access_log.info(
        "%s %s %d %.1fms rid=%s",
        scope["method"],
        scope["path"],
        status,
        latency_ms,
        request_id,
        extra={
            "request_id": request_id,
            "method": scope["method"],
            "route": route,
            "path": scope["path"],
            "status": status,
            "latency_ms": latency_ms,
            "client": f"{client[0]}:{client[1]}" if client else None,
        },
    )
