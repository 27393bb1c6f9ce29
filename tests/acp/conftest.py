"""ACP fixtures: the app on a real port (agents call back into it), agent processes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.acp_kit import InProcessAgent, Live, in_process_agent, live_server


@pytest.fixture
def acp_settings(db_url: str) -> Settings:
    # Generous agent timeouts: the example agents share this event loop with the server,
    # on a CI machine that may be busy. Tests about timeouts use ``short_timeouts``.
    return Settings(
        database_url=db_url,
        sweep_interval_seconds=0.2,
        sse_ping_seconds=0.5,
        agent_timeout_seconds=15.0,
        agent_stream_timeout_seconds=15.0,
    )


def short_timeouts(db_url: str) -> Settings:
    """Settings for tests that wait for an agent to time out."""
    return Settings(
        database_url=db_url,
        sweep_interval_seconds=0.2,
        sse_ping_seconds=0.5,
        agent_timeout_seconds=1.0,
        agent_stream_timeout_seconds=1.0,
    )


@pytest.fixture
async def live(acp_settings: Settings, store: SqlStore) -> AsyncIterator[Live]:
    app = create_app(acp_settings, store=store)
    async with live_server(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Live(url, http, app)


@pytest.fixture
async def example_agent(live: Live) -> AsyncIterator[Any]:
    """Start an example agent against the live app and wait until it is registered.

    The real agent app on a real port, served in this event loop: the server calls it over
    HTTP and it calls back, as in production, without a process to start per test (the
    real ``agentkeep example-agent`` process is covered by the official-client tests).
    """
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            kind: str = "sync", name: str | None = None, key: str | None = None
        ) -> InProcessAgent:
            name = name or f"{'echo' if kind == 'sync' else 'greeter'}-{uuid.uuid4().hex[:6]}"
            return await stack.enter_async_context(in_process_agent(live.url, name, kind, key))

        yield start
