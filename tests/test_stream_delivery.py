"""End-to-end stream delivery: Redis outages, many viewers, several server processes and
the official client, all over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from agentex import Agentex

from agentkeep.app import create_app
from agentkeep.bus.base import START
from agentkeep.bus.redis import RedisStreamsBus
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import service_url, start_server, stop_server
from tests.streaming_kit import (
    RedisProcess,
    SseReader,
    make_task,
    open_stream,
    publish,
    serve_in_process,
)


@pytest.fixture
def redis_proc() -> Iterator[RedisProcess]:
    service_url("TEST_REDIS_URL")  # Redis tests follow the same skip-locally / fail-in-CI rule
    proc = RedisProcess()
    proc.start()
    yield proc
    proc.stop()


@contextlib.asynccontextmanager
async def app_on(settings: Settings, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with (
        serve_in_process(create_app(settings, store=store)) as url,
        httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http,
    ):
        yield http


@pytest.mark.redis
async def test_transitions_survive_a_redis_outage(
    db_url: str, store: SqlStore, redis_proc: RedisProcess
) -> None:
    # A long ping interval keeps the terminal-row re-check from ending the streams during
    # the outage: this test is about the relay delivering what was missed.
    settings = Settings(
        database_url=db_url, redis_url=redis_proc.url, sse_ping_seconds=60, outbox_poll_seconds=0.2
    )
    async with app_on(settings, store) as http, contextlib.AsyncExitStack() as stack:
        tasks = [await make_task(http) for _ in range(3)]
        viewers: list[SseReader] = []
        for t in tasks:
            viewers.append(
                await stack.enter_async_context(open_stream(http, f"/tasks/{t['id']}/stream"))
            )
            assert (await viewers[-1].event()) is not None
        await asyncio.to_thread(redis_proc.stop)
        for verb in ("interrupt", "complete"):
            for t in tasks:
                assert (await http.post(f"/tasks/{t['id']}/{verb}")).status_code == 200
        await asyncio.to_thread(redis_proc.start)
        for viewer in viewers:
            frames = await viewer.rest(timeout=30)
            assert [f.data["task"]["status"] for f in frames if f.data] == [
                "INTERRUPTED",
                "COMPLETED",
            ]
    bus = RedisStreamsBus(redis_proc.url)
    try:
        for t in tasks:
            held = await bus.read_after(t["id"], START)
            assert [e.event["task"]["version"] for e in held] == [
                t["version"] + 1,
                t["version"] + 2,
            ]
    finally:
        await bus.close()


@pytest.mark.redis
async def test_redis_connections_do_not_grow_with_viewers(
    db_url: str, store: SqlStore, redis_proc: RedisProcess
) -> None:
    settings = Settings(database_url=db_url, redis_url=redis_proc.url, sse_ping_seconds=30)
    admin = aioredis.from_url(redis_proc.url)
    async with app_on(settings, store) as http, contextlib.AsyncExitStack() as stack:
        tasks = [await make_task(http) for _ in range(5)]
        viewers = []
        for n in range(200):
            path = f"/tasks/{tasks[n % 5]['id']}/stream"
            viewers.append(await stack.enter_async_context(open_stream(http, path)))
        for viewer in viewers:
            assert (await viewer.event()) is not None
        for t in tasks:
            await publish(http, t["id"], "x")
        for viewer in viewers:
            delta = await viewer.event()
            assert delta is not None and delta.type == "delta"
        clients = await admin.client_list()
    await admin.aclose()
    # Ours: a bounded command pool and at most two blocking readers, whatever the viewers.
    assert len(clients) - 1 <= 12


@pytest.mark.redis
async def test_viewer_on_one_process_sees_changes_made_through_another(
    db_url: str, tmp_path: Path
) -> None:
    env = {
        "AGENTKEEP_DATABASE_URL": db_url,
        "AGENTKEEP_REDIS_URL": service_url("TEST_REDIS_URL"),
        "AGENTKEEP_SSE_PING_SECONDS": "0.5",
    }
    one = await asyncio.to_thread(start_server, env, tmp_path / "one.log")
    two = await asyncio.to_thread(start_server, env, tmp_path / "two.log")
    try:
        async with (
            httpx.AsyncClient(base_url=one.url, timeout=30) as a,
            httpx.AsyncClient(base_url=two.url, timeout=30) as b,
        ):
            task = await make_task(a)
            async with open_stream(b, f"/tasks/{task['id']}/stream?ids=1") as s:
                assert (await s.event()) is not None
                await a.post(f"/tasks/{task['id']}/interrupt")
                interrupted = await s.event()
                await publish(a, task["id"], "tok")
                delta = await s.event()
                await a.post(f"/tasks/{task['id']}/complete")
                rest = await s.rest()
            assert interrupted is not None and interrupted.data is not None
            assert interrupted.data["task"]["status"] == "INTERRUPTED"
            assert delta is not None and delta.type == "delta" and delta.id is not None
            assert [f.data["task"]["status"] for f in rest if f.data] == ["COMPLETED"]
            # Resume on the other process, strictly after the delta.
            async with open_stream(
                a, f"/tasks/{task['id']}/stream", headers={"Last-Event-ID": delta.id}
            ) as s:
                replay = await s.rest()
            assert [f.id for f in replay[1:]] == [f.id for f in rest]
    finally:
        await asyncio.to_thread(stop_server, one)
        await asyncio.to_thread(stop_server, two)


def _consume(
    url: str, task_id: str, query: dict[str, str], out: asyncio.Queue[Any], loop: Any
) -> None:
    client = Agentex(base_url=url, max_retries=0)
    with client.tasks.stream_events(task_id, extra_query=query, timeout=60) as stream:
        for item in stream:
            loop.call_soon_threadsafe(out.put_nowait, item)
    loop.call_soon_threadsafe(out.put_nowait, None)
    client.close()


@pytest.mark.parametrize("query", [{}, {"ids": "1"}], ids=["plain", "with-ids"])
async def test_official_client_reads_through_keepalives(
    settings: Settings, store: SqlStore, bus: Any, query: dict[str, str]
) -> None:
    settings = settings.model_copy(update={"sse_ping_seconds": 0.2})
    app = create_app(settings, store=store, bus=bus)
    async with serve_in_process(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        task = await make_task(http)
        seen: asyncio.Queue[Any] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        consumer = asyncio.create_task(
            asyncio.to_thread(_consume, url, task["id"], query, seen, loop)
        )
        assert (await asyncio.wait_for(seen.get(), 30))["type"] == "connected"
        async with open_stream(http, f"/tasks/{task['id']}/stream", params=query) as probe:
            assert (await probe.event()) is not None
            await publish(http, task["id"], "hello")
            assert (await asyncio.wait_for(seen.get(), 30))["type"] == "delta"
            assert (await probe.event()) is not None
            # Both connections are now quiet on the same schedule: three keepalives on the
            # probe mean the official client has read through at least two of its own.
            pings = [await probe.next() for _ in range(3)]
            assert all(p is not None and p.comment == "ping" for p in pings)
        await http.post(f"/tasks/{task['id']}/complete")
        last = await asyncio.wait_for(seen.get(), 30)
        assert last["type"] == "task_updated" and last["task"]["status"] == "COMPLETED"
        assert await asyncio.wait_for(seen.get(), 30) is None
        await consumer


@pytest.mark.redis
async def test_entries_an_sdk_agent_xadds_reach_viewers(
    settings: Settings, store: SqlStore
) -> None:
    url = service_url("TEST_REDIS_URL")
    settings = settings.model_copy(update={"redis_url": url})
    raw = aioredis.from_url(url)
    async with app_on(settings, store) as http:
        task = await make_task(http)
        async with open_stream(http, f"/tasks/{task['id']}/stream") as s:
            assert (await s.event()) is not None
            # Exactly what agentex-sdk does: XADD into task:{id}, field "data", JSON text.
            update = '{"type": "delta", "index": 0, "delta": {"type": "text", "text_delta": "hi"}}'
            await raw.xadd(f"task:{task['id']}", {"data": update})
            frame = await s.event()
    await raw.aclose()
    assert frame is not None and frame.data is not None
    assert frame.data["delta"]["text_delta"] == "hi"
    assert f"data: {update}\n\n" in s.raw
