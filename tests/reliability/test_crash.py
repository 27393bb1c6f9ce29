"""kill -9 under 16 concurrent writers, then restart: nothing acknowledged is lost, every
retried Idempotency-Key replays its first answer, no stream entry is duplicated, and viewers
resuming by ``Last-Event-ID`` see each task's versions strictly increase."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from tests.reliability.kit import Server, create_task, frames, read_stream, register_agent

WRITERS = 16
#: Writers below this number update one long-lived task, which a viewer follows.
FOLLOWED = 8
#: The server is killed once this many writes were acknowledged.
KILL_AFTER = 120

pytestmark = pytest.mark.timeout(300)


@dataclass
class Backend:
    env: dict[str, str]
    #: Every ``task_updated`` version the task's stream holds, in stream order.
    stream_versions: Callable[[str, str], list[int]]


def _via_sse(url: str, task_id: str) -> list[int]:
    _, got = read_stream(f"{url}/tasks/{task_id}/stream?last_event_id=0-0")
    return [f.data["task"]["version"] for f in got if f.data.get("type") == "task_updated"]


@pytest.fixture(params=["sqlite", "postgres+redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend({"AGENTKEEP_DATABASE_URL": request.getfixturevalue("sqlite_url")}, _via_sse)
        return
    srv = request.getfixturevalue("redis_srv")
    env = {
        "AGENTKEEP_DATABASE_URL": request.getfixturevalue("pg_url"),
        "AGENTKEEP_REDIS_URL": srv.url,
    }
    client = redis.Redis(port=srv.port, decode_responses=True)

    def from_redis(_url: str, task_id: str) -> list[int]:
        entries = client.xrange(f"task:{task_id}")
        events = [orjson.loads(fields["data"]) for _, fields in entries]
        return [e["task"]["version"] for e in events if e.get("type") == "task_updated"]

    yield Backend(env, from_redis)
    client.close()


@dataclass
class Op:
    method: str
    path: str
    body: dict[str, Any]
    #: None for task/create, idempotent by name rather than by key.
    key: str | None
    status: int = 0
    answer: bytes = b""


@dataclass
class Load:
    acked: list[Op] = field(default_factory=list)
    pending: list[Op] = field(default_factory=list)
    versions: dict[str, list[int]] = field(default_factory=dict)
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    enough: asyncio.Event = field(default_factory=asyncio.Event)


async def _send(http: httpx.AsyncClient, load: Load, op: Op) -> bool:
    """Send ``op``; False once the server is gone (the op is then pending)."""
    try:
        r = await http.request(op.method, op.path, json=op.body, headers=_key(op))
    except httpx.TransportError:
        load.pending.append(op)
        return False
    assert r.status_code == 200, r.text
    op.status, op.answer = r.status_code, r.content
    load.acked.append(op)
    if len(load.acked) >= KILL_AFTER:
        load.enough.set()
    return True


def _key(op: Op) -> dict[str, str]:
    return {"Idempotency-Key": op.key} if op.key else {}


def _put(task_id: str, n: int) -> Op:
    return Op("PUT", f"/tasks/{task_id}", {"task_metadata": {"n": n}}, uuid.uuid4().hex)


async def _follower(http: httpx.AsyncClient, load: Load, task_id: str) -> None:
    n = 0
    while await _send(http, load, _put(task_id, n)):
        n += 1


async def _cycler(http: httpx.AsyncClient, load: Load, agent_id: str, w: int) -> None:
    n = 0
    while True:
        n += 1
        name = f"w{w}-{n}"
        create = Op(
            "POST",
            f"/agents/{agent_id}/rpc",
            {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {"name": name}},
            None,
        )
        if not await _send(http, load, create):
            return
        task_id = orjson.loads(create.answer)["result"]["id"]
        for i in range(3):
            if not await _send(http, load, _put(task_id, i)):
                return
        complete = Op("POST", f"/tasks/{task_id}/complete", {"reason": name}, uuid.uuid4().hex)
        if not await _send(http, load, complete):
            return


async def _viewer(url: str, load: Load, task_id: str) -> None:
    """Follow a task with ids on, resuming after every dropped connection until it ends."""
    seen = load.versions.setdefault(task_id, [])
    cursor: str | None = None
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, connect=2)) as http:
        while True:
            headers = {"Last-Event-ID": cursor} if cursor else {}
            try:
                async with http.stream(
                    "GET", f"{url}/tasks/{task_id}/stream?ids=1", headers=headers
                ) as r:
                    if r.status_code == 204:
                        return
                    lines = [line async for line in r.aiter_lines()]
            except httpx.TransportError:
                await asyncio.sleep(0.1)  # the server is down: try again
                continue
            for frame in frames(iter(lines)):
                if frame.id is not None:
                    cursor = frame.id
                if frame.data.get("type") == "task_updated":
                    seen.append(frame.data["task"]["version"])
                    if frame.data["task"]["status"] == "COMPLETED":
                        return


async def _run(server: Server, backend: Backend) -> Load:
    load = Load()
    limits = httpx.Limits(max_connections=WRITERS)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
        with httpx.Client(base_url=server.url, timeout=30) as setup:
            agent = register_agent(setup, "crash")
            followed = [create_task(setup, agent["id"]) for _ in range(FOLLOWED)]
        viewers = [asyncio.create_task(_viewer(server.url, load, t["id"])) for t in followed]
        writers = [_follower(http, load, t["id"]) for t in followed]
        writers += [_cycler(http, load, agent["id"], w) for w in range(FOLLOWED, WRITERS)]
        running = asyncio.gather(*writers)
        await load.enough.wait()
        server.kill9()
        await running
        await asyncio.to_thread(server.start)
        await _retry_and_check(http, load)
        for t in followed:
            r = await http.post(f"/tasks/{t['id']}/complete")
            assert r.status_code == 200, r.text
        # Every stream ends, so reading one to its end below cannot block.
        for task_id in _task_ids(load) - {t["id"] for t in followed}:
            await http.post(f"/tasks/{task_id}/complete")
        await asyncio.wait_for(asyncio.gather(*viewers), 60)
    return load


async def _retry_and_check(http: httpx.AsyncClient, load: Load) -> None:
    # A request cut by the crash, retried with its key: 200 (its replay if it committed,
    # else it runs now), never 400 "in progress" or "cannot be transitioned".
    for op in load.pending:
        r = await http.request(op.method, op.path, json=op.body, headers=_key(op))
        assert r.status_code == 200, (op.path, r.text)
    # Every acknowledged answer is replayed byte for byte.
    for op in load.acked:
        if op.key is None:
            continue
        r = await http.request(op.method, op.path, json=op.body, headers=_key(op))
        assert (r.status_code, r.content) == (op.status, op.answer), op.path


def _task_ids(load: Load) -> set[str]:
    answers = [orjson.loads(op.answer) for op in load.acked]
    return {a.get("result", a)["id"] for a in answers}


def _check_acknowledged(http: httpx.Client, load: Load) -> None:
    """Each task holds at least the newest acknowledged version, and a task whose
    completion was acknowledged is COMPLETED, once, in its history."""
    newest: dict[str, int] = {}
    completed: set[str] = set()
    for op in load.acked:
        body = orjson.loads(op.answer)
        task = body.get("result") or body
        newest[task["id"]] = max(newest.get(task["id"], 0), task["version"])
        if op.path.endswith("/complete"):
            completed.add(task["id"])
    for task_id, version in newest.items():
        assert http.get(f"/tasks/{task_id}").json()["version"] >= version
    for task_id in completed:
        history = http.get(f"/tasks/{task_id}/history").json()
        assert [h["to_status"] for h in history].count("COMPLETED") == 1


def test_kill_9_under_concurrent_writers(
    backend: Backend, servers: list[Server], tmp_path: Path
) -> None:
    server = Server(backend.env, tmp_path / "server.log")
    servers.append(server)
    server.start()
    load = asyncio.run(_run(server, backend))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        _check_acknowledged(http, load)
    duplicates = 0
    for task_id in _task_ids(load):
        versions = backend.stream_versions(server.url, task_id)
        duplicates += len(versions) - len(set(versions))
    for task_id, seen in load.versions.items():
        assert seen == sorted(set(seen)), (task_id, seen)
    print(
        f"\nkill -9: {len(load.acked)} writes acknowledged, 0 lost, "
        f"{len(load.pending)} cut and retried, {duplicates} duplicate stream entries"
    )
    assert duplicates == 0
