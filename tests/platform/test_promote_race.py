"""Concurrent promotes through two real server processes on one database: they serialise
on the agent row, and exactly one production deployment remains, the one the agent names."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert

from agentkeep.domain import models
from agentkeep.errors import ItemAlreadyExists
from agentkeep.store import SqlStore
from agentkeep.store.platform_tables import deployments
from tests.conftest import ServerProcess, service_url, start_server, stop_server
from tests.platform.kit import register

CONCURRENCY = 16
ROUNDS = 8


@pytest.fixture
def two_servers(db_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    # Two processes on one database need a shared bus (``serve`` refuses otherwise).
    env = {"AGENTKEEP_DATABASE_URL": db_url, "AGENTKEEP_REDIS_URL": service_url("TEST_REDIS_URL")}
    first = start_server(env, tmp_path / "a.log")
    try:
        second = start_server(env, tmp_path / "b.log")
    except Exception:
        stop_server(first)
        raise
    yield first, second
    stop_server(second)
    stop_server(first)


async def _round(clients: list[httpx.AsyncClient], agent_id: str, candidates: list[str]) -> None:
    gate = asyncio.Event()

    async def promote(n: int) -> httpx.Response:
        await gate.wait()
        http = clients[n % 2]
        target = candidates[(n // 2) % len(candidates)]
        return await http.post(f"/agents/{agent_id}/deployments/{target}/promote")

    pending = [asyncio.create_task(promote(n)) for n in range(CONCURRENCY)]
    await asyncio.sleep(0)
    gate.set()
    answers = await asyncio.gather(*pending)
    assert [r.status_code for r in answers] == [200] * CONCURRENCY, [r.text for r in answers]
    listed = (await clients[0].get(f"/agents/{agent_id}/deployments")).json()
    production = [d["id"] for d in listed if d["is_production"]]
    agent = (await clients[1].get(f"/agents/{agent_id}")).json()
    assert len(production) == 1 and production == [agent["production_deployment_id"]]


async def test_concurrent_promotes_leave_one_production(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_servers
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with (
        httpx.AsyncClient(base_url=a.url, limits=limits, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b.url, limits=limits, timeout=60) as on_b,
    ):
        agent = await register(on_a)
        candidates = []
        for n in range(2):
            deployment_id = str(uuid.uuid4())
            await register(
                on_b,
                f"http://127.0.0.1:9/d{n}",
                name=agent["name"],
                registration_metadata={"deployment_id": deployment_id},
            )
            candidates.append(deployment_id)
        for _ in range(ROUNDS):
            await _round([on_a, on_b], agent["id"], candidates)
    assert "Traceback" not in a.output() + b.output()


async def test_the_index_refuses_a_second_production_row(store: SqlStore) -> None:
    from agentkeep.store.agents import Registration

    agent, _ = await store.register_agent(
        Registration(name="solo", description="", acp_url="http://127.0.0.1:9", acp_type="sync")
    )
    now = models.utcnow()
    row = {
        "agent_id": agent["id"],
        "docker_image": "img",
        "status": "Ready",
        "is_production": True,
        "created_at": now,
        "updated_at": now,
    }
    async with store.write() as conn:
        await conn.execute(insert(deployments).values(id=str(uuid.uuid4()), **row))
    with pytest.raises(ItemAlreadyExists):
        async with store.write() as conn:
            await conn.execute(insert(deployments).values(id=str(uuid.uuid4()), **row))
