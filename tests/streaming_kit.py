"""Streaming test kit: a real in-process server, and a strict SSE reader that keeps the raw
text so frame bytes can be checked."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import uvicorn


@dataclass
class Frame:
    id: str | None = None
    data: dict[str, Any] | None = None
    comment: str | None = None

    @property
    def type(self) -> str | None:
        return None if self.data is None else self.data.get("type")


class SseReader:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.raw = ""
        self._chunks = response.aiter_text()
        self._buffer = ""

    async def _line(self) -> str | None:
        while "\n" not in self._buffer:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                return None
            self.raw += chunk
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition("\n")
        return line

    async def next(self, timeout: float = 10) -> Frame | None:
        """The next event or comment; None at the end of the stream."""
        async with asyncio.timeout(timeout):
            frame = Frame()
            data: list[str] = []
            while (line := await self._line()) is not None:
                if line.startswith(":"):
                    return Frame(comment=line[1:])
                if line.startswith("id: "):
                    frame.id = line[4:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and data:
                    frame.data = orjson.loads("\n".join(data))
                    return frame
            return None

    async def event(self, timeout: float = 10) -> Frame | None:
        """The next event, skipping keepalives; None at the end of the stream."""
        while (frame := await self.next(timeout)) is not None:
            if frame.comment is None:
                return frame
        return None

    async def rest(self, timeout: float = 10) -> list[Frame]:
        """Every remaining event until the stream ends."""
        frames = []
        while (frame := await self.event(timeout)) is not None:
            frames.append(frame)
        return frames


@contextlib.asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient, path: str, **kwargs: Any
) -> AsyncIterator[SseReader]:
    async with http.stream("GET", path, **kwargs) as response:
        yield SseReader(response)


@contextlib.asynccontextmanager
async def serve_in_process(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a real socket in this event loop; yield its base URL.

    Streaming tests need this: ``httpx.ASGITransport`` buffers a response until the app
    returns, which an endless SSE stream never does. The socket listens before uvicorn
    starts, so clients may connect at once (they queue until the lifespan has started).
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", ws="none", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def make_task(http: httpx.AsyncClient, name: str | None = None) -> dict[str, Any]:
    agent = await http.post(
        "/agents/register",
        json={
            "name": f"agent-{uuid.uuid4().hex[:8]}",
            "description": "d",
            "acp_url": "http://127.0.0.1:9",
            "acp_type": "sync",
        },
    )
    params: dict[str, Any] = {"name": name} if name else {}
    r = await http.post(
        f"/agents/{agent.json()['id']}/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": params},
    )
    return dict(r.json()["result"])


async def publish(http: httpx.AsyncClient, task_id: str, *deltas: str) -> None:
    body = [
        {"type": "delta", "index": 0, "delta": {"type": "text", "text_delta": d}} for d in deltas
    ]
    r = await http.post(f"/tasks/{task_id}/stream/events", json=body)
    assert r.status_code == 200, r.text


class RedisProcess:
    """A throwaway ``redis-server`` this test owns: it may stop and restart it at will
    (never the shared Redis on 6379). Nothing is persisted, as in an outage that loses
    the streams."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--loglevel", "notice"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        # Redis says when it accepts connections: wait for that line, not for a guess.
        for line in self.proc.stdout:
            if "Ready to accept connections" in line:
                return
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None
