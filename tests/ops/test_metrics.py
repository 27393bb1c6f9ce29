"""``/metrics``: what an operator alerts on, counted by the real app on each database."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import running_app


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``, keyed by name and sorted labels."""
    text = (await client.get("/metrics")).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    for _ in range(3):
        assert (await client.get(f"/tasks/{task['id']}")).status_code == 200  # the fast lane
    await client.get("/tasks/name/no-such-task")
    await client.get("/no/such/path")
    samples = await scrape(client)
    count = "agentkeep_http_requests_total"
    by_id = (("method", "GET"), ("route", "/tasks/{task_id}"), ("status", "200"))
    assert samples[(count, by_id)] == 3
    missing = (("method", "GET"), ("route", "/tasks/name/{name}"), ("status", "404"))
    assert samples[(count, missing)] == 1
    stray = (("method", "GET"), ("route", "(unmatched)"), ("status", "404"))
    assert samples[(count, stray)] == 1
    histogram = ("agentkeep_http_request_duration_seconds_count", by_id[:2])
    assert samples[histogram] == 3


async def test_changes_are_counted_by_new_status(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    assert (await client.post(f"/tasks/{task['id']}/complete")).status_code == 200
    samples = await scrape(client)
    assert samples[("agentkeep_task_changes_total", (("status", "COMPLETED"),))] == 1


async def test_unpublished_changes_show_as_backlog_and_lag(
    settings: Settings, store: SqlStore
) -> None:
    # No relay in this process: committed changes stay in the outbox.
    quiet = settings.model_copy(update={"background_workers": False})
    async with running_app(create_app(quiet, store=store)) as client:
        agent = await client.post(
            "/agents/register", json={"name": "m", "acp_url": "http://x", "acp_type": "sync"}
        )
        task = await client.post(
            f"/agents/{agent.json()['id']}/rpc",
            json={"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}},
        )
        done = await client.post(f"/tasks/{task.json()['result']['id']}/complete")
        assert done.status_code == 200
        samples = await scrape(client)
    assert samples[("agentkeep_outbox_backlog", ())] == 1
    assert samples[("agentkeep_outbox_oldest_age_seconds", ())] > 0


async def test_sweeper_timeouts_are_counted(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory(timeout_seconds=0.1)
    for _ in range(100):
        if (await client.get(f"/tasks/{task['id']}")).json()["status"] == "TIMED_OUT":
            break
        await asyncio.sleep(0.1)
    assert (await scrape(client))[("agentkeep_sweeper_timeouts_total", ())] == 1
