"""Outbox rows published but not yet deleted when the process died are not published
again, and a viewer resuming by ``Last-Event-ID`` never sees a version go backwards."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
import redis
from tests.reliability.kit import Server, create_task, read_stream, register_agent
from tests.reliability.services import PrivateRedis, wait_for

pytestmark = pytest.mark.timeout(300)

TASKS = 4
UPDATES = 10


def _sql(url: str, statement: str) -> object:
    async def run() -> object:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            return await conn.fetchval(statement)
        finally:
            await conn.close()

    return asyncio.run(run())


def _versions(client: redis.Redis, task_id: str) -> list[int]:
    events = [orjson.loads(f["data"]) for _, f in client.xrange(f"task:{task_id}")]
    return [e["task"]["version"] for e in events if e.get("type") == "task_updated"]


def test_rows_published_before_a_crash_are_not_published_again(
    pg_url: str, redis_srv: PrivateRedis, servers: list[Server], tmp_path: Path
) -> None:
    env = {
        "AGENTKEEP_DATABASE_URL": pg_url,
        "AGENTKEEP_REDIS_URL": redis_srv.url,
        # No poll while the rule below holds: only the fast path publishes, once per row.
        "AGENTKEEP_OUTBOX_POLL_SECONDS": "600",
    }
    server = Server(env, tmp_path / "server.log")
    servers.append(server)
    server.start()
    client = redis.Redis(port=redis_srv.port, decode_responses=True)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        agent = register_agent(http, "replay")
        tasks = [create_task(http, agent["id"])["id"] for _ in range(TASKS)]
        # Deletes of outbox rows do nothing from here on: every row the relay publishes
        # stays, exactly as when a process dies between a publish and its delete.
        _sql(pg_url, "CREATE RULE keep_rows AS ON DELETE TO outbox DO INSTEAD NOTHING")
        for n in range(UPDATES):
            for task_id in tasks:
                r = http.put(f"/tasks/{task_id}", json={"task_metadata": {"n": n}})
                assert r.status_code == 200, r.text
        wait_for(
            lambda: all(len(_versions(client, t)) == UPDATES for t in tasks),
            30,
            "every change in its stream",
        )
        server.kill9()
        _sql(pg_url, "DROP RULE keep_rows ON outbox")
        server.start()
        wait_for(lambda: _sql(pg_url, "SELECT count(*) FROM outbox") == 0, 30, "the outbox")
        duplicates = sum(len(_versions(client, t)) - len(set(_versions(client, t))) for t in tasks)
        assert duplicates == 0
    client.close()


def test_a_resumed_viewer_never_sees_a_version_go_backwards(
    pg_url: str, redis_srv: PrivateRedis, servers: list[Server], tmp_path: Path
) -> None:
    env = {"AGENTKEEP_DATABASE_URL": pg_url, "AGENTKEEP_REDIS_URL": redis_srv.url}
    server = Server(env, tmp_path / "server.log")
    servers.append(server)
    server.start()
    client = redis.Redis(port=redis_srv.port, decode_responses=True)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        agent = register_agent(http, "resume")
        task_id = create_task(http, agent["id"])["id"]
        for n in range(6):
            assert (
                http.put(f"/tasks/{task_id}", json={"task_metadata": {"n": n}}).status_code == 200
            )
        wait_for(lambda: len(_versions(client, task_id)) == 6, 30, "six changes in the stream")
        entries = client.xrange(f"task:{task_id}")
        cursor = entries[3][0]  # the viewer saw up to version 5
        # An at-least-once repeat of versions 2 and 3 lands after it (a relay retry).
        for _, fields in entries[:2]:
            client.xadd(f"task:{task_id}", {"data": fields["data"]})
        assert http.post(f"/tasks/{task_id}/complete").status_code == 200
        code, got = read_stream(
            f"{server.url}/tasks/{task_id}/stream", headers={"Last-Event-ID": cursor}
        )
    client.close()
    assert code == 200
    seen = [f.data["task"]["version"] for f in got if f.data.get("type") == "task_updated"]
    assert seen == [6, 7, 8]
