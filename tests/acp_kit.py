"""Helpers for ACP tests: the app served on a real port, example agents as processes,
and small misbehaving agents (real servers on loopback, written with asyncio streams)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from agentkeep.examples import echo, greeter
from agentkeep.examples.base import ExampleAgent
from tests.conftest import free_port

# ------------------------------------------------------------------ the app on a real port


@contextlib.asynccontextmanager
async def live_server(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn in this event loop: agents in other processes can call it."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    # uvicorn offers no event for "listening": poll its flag (it flips once bound).
    while not server.started:
        if serving.done():
            await serving
            raise RuntimeError("uvicorn exited before it started")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


@dataclass
class Live:
    url: str
    http: httpx.AsyncClient
    app: FastAPI

    async def register(self, acp_url: str, acp_type: str = "async", name: str = "") -> Any:
        body = {
            "name": name or f"agent-{uuid.uuid4().hex[:8]}",
            "description": "test agent",
            "acp_url": acp_url,
            "acp_type": acp_type,
        }
        r = await self.http.post("/agents/register", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    async def rpc(self, agent: str, method: str, **params: Any) -> Any:
        """Call by agent name; return the JSON-RPC body (HTTP 200 asserted)."""
        body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
        r = await self.http.post(f"/agents/name/{agent}/rpc", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    async def task(self, task_id: str) -> Any:
        r = await self.http.get(f"/tasks/{task_id}")
        assert r.status_code == 200, r.text
        return r.json()

    async def history(self, task_id: str) -> list[dict[str, Any]]:
        return list((await self.http.get(f"/tasks/{task_id}/history")).json())

    async def messages(self, task_id: str) -> list[dict[str, Any]]:
        r = await self.http.get("/messages", params={"task_id": task_id, "order_direction": "asc"})
        assert r.status_code == 200, r.text
        return list(r.json())


# ------------------------------------------------------------------ example agent processes


@dataclass
class AgentProcess:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def received(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/received", timeout=5).json())


def spawn_agent(
    server_url: str, name: str, kind: str, log: Path, env: dict[str, str] | None = None
) -> AgentProcess:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "agentkeep", "example-agent", "--server", server_url),
                *("--name", name, "--type", kind, "--port", str(port)),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    return AgentProcess(name, f"http://127.0.0.1:{port}", proc, log)


def _check_alive(agent: AgentProcess) -> None:
    if agent.proc.poll() is not None:
        raise RuntimeError(f"agent {agent.name} exited:\n{agent.output()}")


def wait_registered(agent: AgentProcess, timeout: float = 30) -> AgentProcess:
    """Block until the agent's /healthz says it is bound and registered (sync tests)."""
    deadline = time.monotonic() + timeout
    # One client for the wait: each ``httpx.get`` would load a TLS context (~40 ms).
    with httpx.Client(timeout=1) as http:
        while time.monotonic() < deadline:
            _check_alive(agent)
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{agent.url}/healthz").status_code == 200:
                    return agent
            time.sleep(0.05)
    agent.stop()
    raise RuntimeError(f"agent {agent.name} did not register:\n{agent.output()}")


async def await_registered(agent: AgentProcess, timeout: float = 30) -> AgentProcess:
    """The same, without blocking the loop (the server it registers with may live in it)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1) as http:
        while time.monotonic() < deadline:
            _check_alive(agent)
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{agent.url}/healthz")).status_code == 200:
                    return agent
            await asyncio.sleep(0.05)
    agent.stop()
    raise RuntimeError(f"agent {agent.name} did not register:\n{agent.output()}")


# ------------------------------------------------------------------ example agents in-process


@dataclass
class InProcessAgent:
    """An example agent served in the test's event loop; ``received()`` as the process's."""

    name: str
    url: str
    agent: ExampleAgent

    def received(self) -> list[dict[str, Any]]:
        return list(self.agent.received)


@contextlib.asynccontextmanager
async def in_process_agent(
    server_url: str, name: str, kind: str, key: str | None = None
) -> AsyncIterator[InProcessAgent]:
    """Bind the example agent's app, then register it with ``key`` (as the process does)."""
    agent = (echo if kind == "sync" else greeter).build(server_url, name)
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as http:
        agent.http = http
        async with live_server(agent.app()) as url:
            try:
                await agent.register(url, key)
            except httpx.HTTPError as exc:
                raise RuntimeError(f"registration of {name} failed: {exc}") from None
            yield InProcessAgent(name, url, agent)


# ------------------------------------------------------------------ misbehaving agents

Reply = Callable[[dict[str, Any], asyncio.StreamWriter], Awaitable[None]]
#: The connection's reader, for replies that wait for the server to hang up.
current_reader: contextvars.ContextVar[asyncio.StreamReader] = contextvars.ContextVar("reader")


@dataclass
class RawAgent:
    """A real HTTP server that answers ``POST /api`` however ``reply`` says.

    Written on asyncio streams rather than a framework so it can break the protocol
    in ways a framework will not: wrong ids, garbage, a connection cut mid-stream.
    """

    reply: Reply
    calls: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def __aenter__(self) -> RawAgent:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # Python 3.11 has no Server.close_clients(): hung replies are cut here.
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")[1:]
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = json.loads(body)
            current_reader.set(reader)
            self.headers.append(headers)
            self.calls.append(request)
            await self.reply(request, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


def http_response(body: bytes, status: str = "200 OK", ctype: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + b"connection: close\r\n\r\n" + body


def rpc_ok(request: dict[str, Any], result: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\n"
    b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
)
