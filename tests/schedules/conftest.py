"""Schedule fixtures: the app on a real port with the official async client pointed at it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import agentex
import pytest

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.acp_kit import live_server

INPUT = {"type": "text", "author": "user", "content": "hello"}


@pytest.fixture
async def sdk(db_url: str, store: SqlStore) -> AsyncIterator[agentex.AsyncAgentex]:
    """agentex-client talking HTTP to a served app (its scheduler loop running)."""
    app = create_app(Settings(database_url=db_url), store=store)
    async with (
        live_server(app) as url,
        agentex.AsyncAgentex(base_url=url, max_retries=0, timeout=30) as client,
    ):
        yield client


@pytest.fixture
async def agent(sdk: agentex.AsyncAgentex) -> dict[str, Any]:
    """A registered sync agent nobody answers for (these tests never let a fire reach it)."""
    body = {
        "name": f"sched-{uuid.uuid4().hex[:8]}",
        "description": "schedule target",
        "acp_url": "http://127.0.0.1:9",
        "acp_type": "sync",
    }
    r = await sdk.post("/agents/register", body=body, cast_to=dict[str, Any])
    return dict(r)
