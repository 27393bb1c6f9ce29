"""``AgentClient``: JSON-RPC calls to agents over an injected ``httpx.AsyncClient``.

Every transport and protocol failure becomes one of our errors in ``map_agent_errors``
(the way httpx maps httpcore's exceptions), so callers handle ``errors.UpstreamError``
and nothing else. The client never touches the database: callers must not hold a
transaction or a lock while they await it, because agents call back into the server
(states, messages) before they answer.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from agentkeep import errors
from agentkeep.acp import jsonrpc
from agentkeep.settings import Settings

#: ``x-*`` headers a caller sent that must not reach an agent: credentials and identity
#: claims a caller could otherwise forge towards the agent.
BLOCKED_HEADERS = frozenset(
    {"x-api-key", "x-agent-api-key", "x-acting-as-agent", "x-selected-account-id"}
)
BLOCKED_PREFIXES = ("x-acting-user-",)
TRACE_HEADERS = ("traceparent", "tracestate", "baggage")
MAX_RESPONSE_BYTES = 16 * 1024 * 1024

#: Told of each call: method, whether it succeeded, seconds taken (the metrics).
Observer = Callable[[str, bool, float], None]


@dataclass(frozen=True, slots=True)
class AgentTarget:
    """Where and as whom to call an agent."""

    name: str
    acp_url: str
    api_key: str | None


def forwarded_headers(incoming: Mapping[str, str]) -> dict[str, str]:
    """The caller's headers an agent may see: ``x-*`` minus credentials, plus trace context.

    ``authorization`` and ``cookie`` never pass: they are not ``x-*``.
    """
    out: dict[str, str] = {}
    for key, value in incoming.items():
        name = key.lower()
        if name in TRACE_HEADERS or (
            name.startswith("x-")
            and name not in BLOCKED_HEADERS
            and not name.startswith(BLOCKED_PREFIXES)
        ):
            out[name] = value
    return out


@contextlib.contextmanager
def map_agent_errors(agent_name: str) -> Iterator[None]:
    """Translate httpx failures into ``AgentUnavailable`` / ``AgentProtocolError``.

    Messages name the agent but never its URL: clients are not shown ``acp_url``.
    """
    try:
        yield
    except httpx.TimeoutException as exc:
        kind = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for an answer"
        raise errors.AgentUnavailable(f"Agent {agent_name} timed out ({kind}).") from None
    except httpx.ConnectError:
        raise errors.AgentUnavailable(f"Agent {agent_name} is unreachable.") from None
    except httpx.RemoteProtocolError:
        raise errors.AgentProtocolError(
            f"Agent {agent_name} broke the connection before finishing its answer."
        ) from None
    except httpx.HTTPError as exc:
        raise errors.AgentUnavailable(
            f"Agent {agent_name} could not be called ({type(exc).__name__})."
        ) from None


class AgentClient:
    """Calls ``POST {acp_url}/api``; one JSON-RPC id per call, checked on every answer."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        stream_timeout: float = 300.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        observer: Observer | None = None,
    ) -> None:
        self.http = http
        self._observer = observer
        self._call_timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        # httpx's read timeout bounds each network read, i.e. the quiet time between
        # stream lines, which is what AGENT_STREAM_TIMEOUT_SECONDS promises.
        self._stream_timeout = httpx.Timeout(stream_timeout, connect=connect_timeout)
        self.max_response_bytes = max_response_bytes
        self._counter = itertools.count(1)

    @classmethod
    def from_settings(
        cls, http: httpx.AsyncClient, settings: Settings, observer: Observer | None = None
    ) -> AgentClient:
        return cls(
            http,
            observer=observer,
            connect_timeout=settings.agent_connect_timeout_seconds,
            read_timeout=settings.agent_timeout_seconds,
            stream_timeout=settings.agent_stream_timeout_seconds,
            max_response_bytes=settings.max_body_bytes,
        )

    @contextlib.contextmanager
    def _observed(self, method: str) -> Iterator[None]:
        """Report the call to the observer; only our errors count as failures (a caller
        that stops reading a stream early is not the agent failing)."""
        if self._observer is None:
            yield
            return
        started, ok = time.perf_counter(), True
        try:
            yield
        except errors.AgentkeepError:
            ok = False
            raise
        finally:
            self._observer(method, ok, time.perf_counter() - started)

    def _rpc_id(self, method: str, task_id: str) -> str:
        return f"{method}-{task_id}-{next(self._counter)}"

    @staticmethod
    def _headers(
        target: AgentTarget, forwarded: Mapping[str, str], request_id: str | None
    ) -> dict[str, str]:
        # Later entries win: the agent key and request id cannot be overridden by a caller.
        headers = {**forwarded, "content-type": "application/json"}
        if target.api_key:
            headers["x-agent-api-key"] = target.api_key
        if request_id:
            headers["x-request-id"] = request_id
        return headers

    async def call(
        self,
        target: AgentTarget,
        method: str,
        params: dict[str, Any],
        *,
        task_id: str,
        forwarded: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> Any:
        """One call, one answer: return its ``result``."""
        rpc_id = self._rpc_id(method, task_id)
        with self._observed(method):
            with map_agent_errors(target.name):
                async with self.http.stream(
                    "POST",
                    _endpoint(target),
                    content=jsonrpc.request(method, params, rpc_id),
                    headers=self._headers(target, forwarded or {}, request_id),
                    timeout=self._call_timeout,
                ) as response:
                    raw = await self._read_body(response, target.name)
            body = _decode_or_status(raw, response.status_code, target.name)
            return jsonrpc.result_of(body, rpc_id, target.name)

    async def stream(
        self,
        target: AgentTarget,
        method: str,
        params: dict[str, Any],
        *,
        task_id: str,
        forwarded: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> AsyncGenerator[Any, None]:
        """A streaming call (NDJSON): yield the ``result`` of each line as it arrives."""
        rpc_id = self._rpc_id(method, task_id)
        with self._observed(method):
            with map_agent_errors(target.name):
                async with self.http.stream(
                    "POST",
                    _endpoint(target),
                    content=jsonrpc.request(method, params, rpc_id),
                    headers=self._headers(target, forwarded or {}, request_id),
                    timeout=self._stream_timeout,
                ) as response:
                    if response.status_code >= 400:
                        raw = await self._read_body(response, target.name)
                        body = _decode_or_status(raw, response.status_code, target.name)
                        yield jsonrpc.result_of(body, rpc_id, target.name)
                        return
                    async for line in self._lines(response, target.name):
                        body = jsonrpc.decode(line, target.name)
                        yield jsonrpc.result_of(body, rpc_id, target.name)

    async def _read_body(self, response: httpx.Response, agent_name: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise errors.AgentProtocolError(f"Agent {agent_name} answered too much data.")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _lines(self, response: httpx.Response, agent_name: str) -> AsyncIterator[bytes]:
        """Non-empty NDJSON lines, each bounded in size (a line without end is garbage)."""
        buffer = b""
        async for chunk in response.aiter_bytes():
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line
            if len(buffer) > self.max_response_bytes:
                raise errors.AgentProtocolError(f"Agent {agent_name} sent an endless line.")
        if buffer.strip():
            yield buffer


def _endpoint(target: AgentTarget) -> str:
    return f"{target.acp_url.rstrip('/')}/api"


def _decode_or_status(raw: bytes, status_code: int, agent_name: str) -> dict[str, Any]:
    """A JSON-RPC body even on an HTTP error status; otherwise name the status."""
    try:
        return jsonrpc.decode(raw, agent_name)
    except errors.AgentProtocolError:
        if status_code >= 400:
            raise errors.AgentProtocolError(
                f"Agent {agent_name} answered HTTP {status_code}."
            ) from None
        raise
