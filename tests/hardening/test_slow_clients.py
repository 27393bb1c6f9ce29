"""Slow clients: ``serve`` closes a connection whose request headers do not arrive in time,
however slowly they trickle, and bounds their size (issue 7: 200 trickling connections and
an idle socket stayed open 40 s). A real uvicorn on a real socket, with a short deadline."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn

from agentkeep import serving, slowclients
from agentkeep.app import create_app
from agentkeep.settings import Settings


class QuickDeadline(slowclients.HeaderDeadlineProtocol):
    header_timeout = 0.3


@pytest.fixture
async def port(settings: Settings) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    config = uvicorn.Config(
        create_app(settings), log_level="warning", http=QuickDeadline, timeout_keep_alive=30
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def connection(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    async with asyncio.timeout(30):
        return await reader.read()


async def test_an_idle_socket_is_closed(port: int) -> None:
    async with connection(port) as (reader, _):
        assert await _closed_by_server(reader) == b""


async def test_trickled_headers_are_cut_off(port: int) -> None:
    async with connection(port) as (reader, writer):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")

        async def trickle() -> None:
            with contextlib.suppress(ConnectionError):
                while not reader.at_eof():
                    writer.write(b"X")
                    await writer.drain()
                    await asyncio.sleep(0.05)

        trickling = asyncio.create_task(trickle())
        assert await _closed_by_server(reader) == b""
        trickling.cancel()


async def test_a_keepalive_connection_gets_a_fresh_deadline_per_request(port: int) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    async with connection(port) as (reader, writer):
        for _ in range(2):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            await reader.readexactly(int(head.split(b"content-length: ")[1].split(b"\r\n")[0]))
        # Idle after its second response: closed well before the 30 s keep-alive.
        assert await _closed_by_server(reader) == b""


async def test_oversized_headers_are_400(port: int) -> None:
    async with connection(port) as (reader, writer):
        writer.write(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n")
        assert (await _closed_by_server(reader)).startswith(b"HTTP/1.1 400")


def test_serve_uses_the_deadline_and_the_documented_limits() -> None:
    settings = Settings(keepalive_timeout_seconds=7, max_connections=50)
    options = serving.uvicorn_options(settings, serving.capacity(settings, open_files=100_000))
    assert options["http"] is slowclients.HeaderDeadlineProtocol
    assert (options["timeout_keep_alive"], options["limit_concurrency"]) == (7, 50)
    assert slowclients.HEADER_TIMEOUT_SECONDS == 10.0
