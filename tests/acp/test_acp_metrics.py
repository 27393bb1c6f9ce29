"""Calls to agents in ``/metrics``: counted by method and outcome, timed."""

from __future__ import annotations

from typing import Any

import pytest

from agentkeep.settings import Settings
from tests.acp_kit import Live
from tests.ops.test_metrics import scrape


@pytest.fixture
def acp_settings(db_url: str) -> Settings:
    """Generous agent timeouts: this test counts successes, it does not provoke timeouts."""
    return Settings(database_url=db_url, agent_timeout_seconds=60.0)


async def test_agent_calls_are_counted_with_failures(live: Live, example_agent: Any) -> None:
    agent = await example_agent("async")
    created = await live.rpc(agent.name, "task/create")
    assert created["error"] is None
    nowhere = await live.register("http://127.0.0.1:9", "async", name="nowhere")
    failed = await live.rpc(nowhere["name"], "task/create")
    assert failed["error"] is not None
    samples = await scrape(live.http)
    ok = (("method", "task/create"), ("outcome", "ok"))
    error = (("method", "task/create"), ("outcome", "error"))
    assert samples[("agentkeep_agent_calls_total", ok)] == 1
    assert samples[("agentkeep_agent_calls_total", error)] == 1
    assert samples[("agentkeep_agent_call_duration_seconds_count", (ok[0],))] == 2
