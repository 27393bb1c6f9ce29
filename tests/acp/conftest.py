"""ACP fixtures: the app on a real port (agents call back into it), agent processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.acp_kit import AgentProcess, Live, await_registered, live_server, spawn_agent


@pytest.fixture
def acp_settings(db_url: str) -> Settings:
    # Short agent timeouts: the bad-agent tests wait for them.
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
def spawned(tmp_path: Path) -> Iterator[list[AgentProcess]]:
    agents: list[AgentProcess] = []
    yield agents
    for agent in agents:
        agent.stop()


@pytest.fixture
def example_agent(live: Live, spawned: list[AgentProcess], tmp_path: Path) -> Any:
    """Start ``agentkeep example-agent`` against the live app; wait until registered."""

    async def start(
        kind: str = "sync", name: str | None = None, env: dict[str, str] | None = None
    ) -> AgentProcess:
        name = name or f"{'echo' if kind == 'sync' else 'greeter'}-{uuid.uuid4().hex[:6]}"
        agent = spawn_agent(live.url, name, kind, tmp_path / f"{name}.log", env)
        spawned.append(agent)
        return await await_registered(agent)

    return start
