"""Schedules across real server processes sharing one database (and Redis).

Three processes race for a 1-second schedule for about ten seconds: each due second gets
exactly one fire row, none is missed, and each launched fire exactly one task. A fire
whose predecessor is still running at its time is skipped (``overlap``, the spec's rule);
on a loaded machine a fire can take longer than the 1-second interval, so the test checks
each such skip against the data (a launched predecessor finished after it) rather than
assuming it cannot happen. On SQLite the same holds: the processes'
claims are serialised by SQLite's single writer (``BEGIN IMMEDIATE`` with a busy
timeout), and the version compare-and-set plus the unique fire row make the loser of
each race do nothing; nothing is refused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acp_kit import AgentProcess, await_registered, spawn_agent
from tests.conftest import ServerProcess, service_url, start_server, stop_server

PROCESSES = 3
ROUND_TRIP_MARGIN = timedelta(milliseconds=250)


@pytest.fixture
def servers(db_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    env = {
        "AGENTKEEP_DATABASE_URL": db_url,
        "AGENTKEEP_REDIS_URL": service_url("TEST_REDIS_URL"),
    }
    started: list[ServerProcess] = []
    try:
        for n in range(PROCESSES):
            started.append(start_server(env, tmp_path / f"server-{n}.log"))
        yield started
    finally:
        for srv in started:
            stop_server(srv)


@pytest.fixture
async def echo(servers: list[ServerProcess], tmp_path: Path) -> Any:
    name = f"echo-{uuid.uuid4().hex[:6]}"
    agent: AgentProcess = spawn_agent(servers[0].url, name, "sync", tmp_path / "echo.log")
    try:
        await await_registered(agent)
        yield httpx.get(f"{servers[0].url}/agents/name/{name}").json()
    finally:
        agent.stop()


async def settled(http: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    """The fires once none is pending or running any more."""
    while True:
        fires = (await http.get(path, params={"limit": 1000})).json()
        if all(f["status"] not in ("pending", "running") for f in fires):
            return list(reversed(fires))
        await asyncio.sleep(0.2)


async def test_each_due_second_fires_once_across_processes(
    servers: list[ServerProcess], echo: dict[str, Any]
) -> None:
    base = f"/agents/{echo['id']}/schedules"
    async with httpx.AsyncClient(base_url=servers[1].url, timeout=30) as http:
        body = {"name": "every-second", "interval_seconds": 1, "initial_input": {"content": "hi"}}
        created = (await http.post(base, json=body)).json()
        await asyncio.sleep(10)
        await http.post(f"{base}/{created['id']}/pause")
        fires = await settled(http, f"{base}/{created['id']}/fires")
        tasks = (await http.get("/tasks", params={"agent_id": echo["id"], "limit": 1000})).json()
    nominal = [datetime.fromisoformat(f["nominal_time"]) for f in fires]
    first = datetime.fromisoformat(created["created_at"]).replace(microsecond=0)
    assert nominal == [first + timedelta(seconds=s + 1) for s in range(len(fires))]
    assert len(fires) >= 5
    launched = [f for f in fires if f["status"] == "launched"]
    for fire in fires:
        if fire["status"] != "launched":
            assert (fire["status"], fire["reason"], fire["task_id"]) == ("skipped", "overlap", None)
            assert any(overlapped(earlier, fire) for earlier in launched)
    assert {f["task_id"] for f in launched} == {t["id"] for t in tasks}
    assert len(tasks) == len(launched)
    assert {t["name"] for t in tasks} == {
        f"scheduled-run:{created['id']}:{f['fire_id']}" for f in launched
    }


def overlapped(earlier: dict[str, Any], fire: dict[str, Any]) -> bool:
    """``earlier`` was still running when ``fire`` was claimed.

    A runner reads ``finished_at`` from the clock one round trip before its write commits,
    and a claim reads its time just before its transaction: the two may cross by that
    round trip, hence the margin (far below the 1-second interval).
    """
    finished = datetime.fromisoformat(earlier["finished_at"])
    claimed = datetime.fromisoformat(fire["created_at"])
    return bool(
        earlier["nominal_time"] < fire["nominal_time"] and finished + ROUND_TRIP_MARGIN >= claimed
    )
