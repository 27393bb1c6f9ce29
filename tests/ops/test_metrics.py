"""``/metrics``: what an operator alerts on, counted by the real app on each database."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agentkeep import metrics
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


def test_request_stats_expose_what_prometheus_client_would() -> None:
    # One server process counts requests in plain Python (``RequestStats``); the exposition
    # must be the one of prometheus-client's Counter and Histogram, bucket edges included.
    reference, ours = CollectorRegistry(), CollectorRegistry()
    counter = Counter(*metrics.REQUESTS, registry=reference)
    histogram = Histogram(*metrics.LATENCY, registry=reference)
    stats = metrics.RequestStats()
    ours.register(stats)
    observed = [
        ("GET", "/healthz", 200, 0.0),
        ("GET", "/healthz", 200, 0.005),
        ("GET", "/t/{id}", 404, 0.1),
        ("POST", "/tasks/{task_id}/complete", 200, 0.0051),
        ("GET", "/t/{id}", 200, 10.0),
        ("GET", "/t/{id}", 200, 42.0),
    ]
    for method, route, status, seconds in observed:
        counter.labels(method, route, str(status)).inc()
        histogram.labels(method, route).observe(seconds)
        stats.observe(method, route, status, seconds)

    def text(registry: CollectorRegistry) -> str:
        # ``_created`` is a timestamp: its presence and labels are compared, not its value.
        lines = generate_latest(registry).decode().splitlines()
        return "\n".join(line.rsplit(" ", 1)[0] if "_created{" in line else line for line in lines)

    assert text(ours) == text(reference)
    # Buckets count every observation up to their edge, inclusive; beyond the last, +Inf.
    edge = 'agentkeep_http_request_duration_seconds_bucket{le="%s",method="GET",route="/t/{id}"}'
    lines = text(ours).splitlines()
    assert f"{edge % '10.0'} 2.0" in lines and f"{edge % '+Inf'} 3.0" in lines


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
