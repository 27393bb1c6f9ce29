"""What every example agent shares: registration, the key check, JSON-RPC dispatch.

Like an agentex-sdk agent, it registers with ``POST /agents/register`` (sending its
``acp_url``), keeps the ``agent_api_key`` the server returns, and refuses ACP calls that do
not carry that key in ``x-agent-api-key``. It registers only once its socket is bound, so a
registered agent can always be called; ``/healthz`` answers 200 from then on.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import json
import logging
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
#: Header values never echoed on ``/received``.
SECRET_HEADERS = frozenset({"x-agent-api-key", "x-api-key", "authorization", "cookie"})


@dataclass
class ExampleAgent:
    """An ACP server with a handler per method and a REST client for calling back."""

    server_url: str
    name: str
    acp_type: str
    description: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    api_key: str | None = None
    agent_id: str | None = None
    #: Calls received, for people (and tests) checking what the server sends.
    received: list[dict[str, Any]] = field(default_factory=list)
    http: httpx.AsyncClient | None = None

    def rest(self) -> httpx.AsyncClient:
        assert self.http is not None, "the agent is not running"
        return self.http

    async def register(self, acp_url: str, registration_key: str | None) -> None:
        body = {
            "name": self.name,
            "description": self.description,
            "acp_url": acp_url,
            "acp_type": self.acp_type,
        }
        headers = {"x-agent-api-key": registration_key} if registration_key else {}
        r = await self.rest().post("/agents/register", json=body, headers=headers)
        r.raise_for_status()
        agent = r.json()
        self.agent_id, self.api_key = agent["id"], agent["agent_api_key"]
        # From now on the agent authenticates its REST calls with its own key.
        self.rest().headers["x-agent-api-key"] = self.api_key

    def app(self) -> FastAPI:
        app = FastAPI(title=f"agentkeep example agent {self.name}")
        app.post("/api")(self._api)
        app.get("/healthz")(self._healthz)
        app.get("/received")(self._received)
        return app

    async def _healthz(self) -> Response:
        if self.api_key is None:
            return JSONResponse({"status": "registering"}, status_code=503)
        return JSONResponse({"status": "healthy", "agent_id": self.agent_id})

    async def _received(self) -> list[dict[str, Any]]:
        return self.received

    async def _api(self, request: Request) -> Any:
        try:
            body = await request.json()
            rpc_id, method, params = body.get("id"), body["method"], body.get("params") or {}
        except (ValueError, KeyError, AttributeError):
            return _error(None, -32700, "Parse error")
        self._record(request, method, params)
        presented = request.headers.get("x-agent-api-key") or ""
        # Constant-time compare: the key is the only thing between the agent and anyone
        # who can reach its port.
        if self.api_key is None or not secrets.compare_digest(presented, self.api_key):
            return _error(rpc_id, -32601, "Unauthorized")
        handler = self.handlers.get(method)
        if handler is None:
            return _error(rpc_id, -32601, f"Method {method} not found")
        try:
            result = await handler(params)
        except Exception as exc:
            log.exception("handler for %s failed", method)
            return _error(rpc_id, -32603, str(exc))
        if inspect.isasyncgen(result):
            return StreamingResponse(_ndjson(rpc_id, result), media_type="application/x-ndjson")
        return {"jsonrpc": "2.0", "id": rpc_id, "result": result, "error": None}

    def _record(self, request: Request, method: str, params: dict[str, Any]) -> None:
        headers = {k: ("***" if k in SECRET_HEADERS else v) for k, v in request.headers.items()}
        self.received.append({"method": method, "params": params, "headers": headers})


async def _ndjson(rpc_id: Any, updates: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    """One JSON-RPC response per line, as agentex-sdk streams ``message/send``."""
    try:
        async for update in updates:
            line = {"jsonrpc": "2.0", "id": rpc_id, "result": update, "error": None}
            yield json.dumps(line).encode() + b"\n"
    except Exception as exc:
        log.exception("stream failed")
        yield json.dumps(_error(rpc_id, -32603, str(exc))).encode() + b"\n"


def _error(rpc_id: Any, code: int, message: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "result": None,
        "error": {"code": code, "message": message, "data": None},
    }


class AgentStartError(Exception):
    """The agent cannot start; the message is the one line its operator reads."""


#: How often an agent waiting for the server tries to register again.
RETRY_SECONDS = 1.0


def bind(host: str, port: int) -> socket.socket:
    """The agent's listening socket, bound here so a busy port is one clear error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise AgentStartError(
            f"cannot listen on {host}:{port}: {reason}; choose another port with --port."
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def register_when_ready(
    agent: ExampleAgent, acp_url: str, registration_key: str | None, wait: float
) -> None:
    """Register, waiting for the server to come up for at most ``wait`` seconds."""
    deadline = asyncio.get_running_loop().time() + wait
    announced = False
    while True:
        try:
            await agent.register(acp_url, registration_key)
            return
        except httpx.HTTPStatusError as exc:
            raise AgentStartError(
                f"the server refused to register agent {agent.name!r}: {_message(exc.response)}"
            ) from None
        except httpx.TransportError:
            if asyncio.get_running_loop().time() >= deadline:
                raise AgentStartError(
                    f"the agentkeep server at {agent.server_url} did not answer within "
                    f"{wait:g}s; start it with `agentkeep serve` or point --server at it."
                ) from None
        if not announced:
            print(
                f"waiting for the agentkeep server at {agent.server_url} "
                "(start it with `agentkeep serve`) …",
                file=sys.stderr,
                flush=True,
            )
            announced = True
        await asyncio.sleep(RETRY_SECONDS)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


async def serve(
    agent: ExampleAgent,
    host: str,
    port: int,
    registration_key: str | None,
    *,
    wait: float = 60.0,
) -> None:
    """Bind, then register (waiting for the server), then serve until interrupted."""
    sock = bind(host, port)
    config = uvicorn.Config(agent.app(), log_level="warning")
    server = uvicorn.Server(config)
    async with httpx.AsyncClient(base_url=agent.server_url, timeout=30) as http:
        agent.http = http
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                await serving
                return
            await asyncio.sleep(0.05)
        try:
            await register_when_ready(agent, f"http://{host}:{port}", registration_key, wait)
        except BaseException:
            server.should_exit = True
            await serving
            raise
        print(f"agent {agent.name} ({agent.acp_type}) registered as {agent.agent_id}", flush=True)
        await serving
