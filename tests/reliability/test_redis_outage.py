"""Redis stopped (losing its data) and frozen under load: transitions keep succeeding, a
connected viewer gets every missed ``task_updated`` once after recovery, nothing answers
503 once Redis is back, and a viewer resuming from a cursor Redis lost gets a ``reset``."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from tests.reliability.kit import Server, SseFrame, create_task, frames, read_stream, register_agent
from tests.reliability.services import PrivateRedis, wait_for

pytestmark = pytest.mark.timeout(300)

#: Requests at once: enough to fill the bus's pool of command connections.
CONCURRENT = 10


def _follow(url: str, got: list[SseFrame]) -> None:
    try:
        with httpx.stream("GET", url, timeout=120) as r:
            for frame in frames(r.iter_lines()):
                got.append(frame)
    except httpx.TransportError as exc:  # cut short: the assertions on ``got`` fail
        got.append(SseFrame(None, None, {"type": type(exc).__name__}))


def _publish_all(http: httpx.Client, task_id: str) -> list[int]:
    """``CONCURRENT`` requests at once that each use a Redis connection."""

    def one(n: int) -> int:
        body = {"type": "full", "index": n, "content": {"type": "text", "author": "agent"}}
        return http.post(f"/tasks/{task_id}/stream/events", json=body).status_code

    with ThreadPoolExecutor(CONCURRENT) as pool:
        return list(pool.map(one, range(CONCURRENT)))


def _put(http: httpx.Client, task_id: str, n: int) -> int:
    r = http.put(f"/tasks/{task_id}", json={"task_metadata": {"n": n}})
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


def test_redis_stopped_and_frozen_under_load(
    pg_url: str, redis_srv: PrivateRedis, servers: list[Server], tmp_path: Path
) -> None:
    env = {"AGENTKEEP_DATABASE_URL": pg_url, "AGENTKEEP_REDIS_URL": redis_srv.url}
    server = Server(env, tmp_path / "server.log")
    servers.append(server)
    server.start()
    limits = httpx.Limits(max_connections=CONCURRENT * 2)
    with httpx.Client(base_url=server.url, timeout=30, limits=limits) as http:
        agent = register_agent(http, "redis")
        task_id = create_task(http, agent["id"])["id"]
        stream = f"{server.url}/tasks/{task_id}/stream"
        # A viewer that stays connected throughout, and the cursor of one that leaves.
        live: list[SseFrame] = []
        follower = threading.Thread(target=_follow, args=(f"{stream}?ids=1", live))
        follower.start()
        # Connected first: a change before it would be before the viewer's cursor.
        wait_for(lambda: bool(live), 30, "the viewer to connect")
        first = _put(http, task_id, 0)
        wait_for(lambda: any(f.data.get("type") == "task_updated" for f in live), 30, "v2")
        cursor = next(f.id for f in live if f.data.get("type") == "task_updated")
        assert _publish_all(http, task_id) == [200] * CONCURRENT  # the pool is warm

        redis_srv.stop()  # without persistence: every stream is lost
        during = [_put(http, task_id, n) for n in range(1, 4)]
        redis_srv.start()
        # Pooled connections opened before the restart are dead: none may cost a 503.
        assert _publish_all(http, task_id) == [200] * CONCURRENT

        redis_srv.freeze()
        during += [_put(http, task_id, n) for n in range(4, 6)]
        redis_srv.thaw()
        last = http.post(f"/tasks/{task_id}/complete").json()["version"]
        follower.join(60)
        assert not follower.is_alive()

        code, resumed = read_stream(stream, headers={"Last-Event-ID": cursor})
    versions = [f.data["task"]["version"] for f in live if f.data.get("type") == "task_updated"]
    # Every change once, in order, though Redis was away for most of them.
    assert versions == [first, *during, last]
    assert code == 200
    assert [f.event for f in resumed[:3]] == [None, "reset", None]
    assert resumed[2].data["task"]["version"] == last
    assert "Traceback" not in server.output()
