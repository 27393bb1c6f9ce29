"""Helpers for the platform tests: a live app, a stand-in agent, registration shortcuts."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.acp_kit import live_server

OPS_KEY = "ops-secret-key"
OPS = {"x-api-key": OPS_KEY}


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]


@dataclass
class StandIn:
    """A real HTTP server standing in for an agent's own routes."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/stream", self._stream),
                Route("/slow", self._slow),
                Route("/{rest:path}", self._record, methods=["GET", "POST", "PUT"]),
            ]
        )

    async def _note(self, request: Request) -> None:
        self.seen.append(
            Seen(
                request.method,
                request.url.path,
                request.url.query,
                [(k.decode(), v.decode()) for k, v in request.headers.raw],
                await request.body(),
            )
        )

    async def _record(self, request: Request) -> Response:
        await self._note(request)
        status = int(request.query_params.get("status", "200"))
        headers = {"x-agent-says": "hello", "set-cookie": "agent=1"}
        return JSONResponse({"path": request.url.path}, status_code=status, headers=headers)

    async def _stream(self, request: Request) -> Response:
        await self._note(request)

        async def chunks() -> AsyncIterator[bytes]:
            yield b"first\n"
            # The second chunk waits for the test: the first must arrive on its own.
            await self.release.wait()
            yield b"second\n"

        return StreamingResponse(chunks(), media_type="text/plain")

    async def _slow(self, request: Request) -> Response:
        await self._note(request)
        await self.release.wait()
        return Response(b"too late")


@contextlib.asynccontextmanager
async def stand_in() -> AsyncIterator[StandIn]:
    agent = StandIn()
    try:
        async with live_server(agent.app()) as url:
            agent.url = url
            yield agent
            agent.release.set()
    finally:
        agent.release.set()


@contextlib.asynccontextmanager
async def live_app(
    db_url: str, store: SqlStore, **settings: Any
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """The app on a real port, and a client for it."""
    app = create_app(Settings(database_url=db_url, **settings), store=store)
    async with live_server(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield url, http


async def register(
    http: httpx.AsyncClient,
    acp_url: str = "http://127.0.0.1:9",
    *,
    name: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "name": name or f"agent-{uuid.uuid4().hex[:8]}",
        "description": "platform test agent",
        "acp_url": acp_url,
        "acp_type": "async",
        **extra,
    }
    r = await http.post("/agents/register", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def envelope(message: str, code: int) -> dict[str, Any]:
    return {"message": message, "code": code, "data": None}
