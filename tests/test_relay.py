"""The outbox relay on every database and every bus: the database path driven by hand, the
fast path from the lifecycle's hook, outages, dead processes, and the background loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from agentkeep import errors
from agentkeep.app import create_app
from agentkeep.bus.base import START, Entry, EventBus
from agentkeep.bus.redis import RedisStreamsBus
from agentkeep.lifecycle import Lifecycle
from agentkeep.relay import Mode, Relay
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from agentkeep.store.tasks import Change
from tests.conftest import running_app, service_url
from tests.streaming_kit import RedisProcess, make_task

#: Long enough that no row of a test ever counts as abandoned by a live process.
PATIENT = 3600.0


@dataclass
class Server:
    """An app without background workers: the test runs its relays itself."""

    http: httpx.AsyncClient
    lifecycle: Lifecycle

    def relay(self, bus: EventBus, **kwargs: Any) -> Relay:
        """A relay fed by this server's commits, as the app wires it."""
        kwargs.setdefault("grace_seconds", PATIENT)
        relay = Relay(self.lifecycle.store, bus, **kwargs)
        self.lifecycle.on_commit(relay.on_commit)
        return relay


@pytest.fixture
async def server(db_url: str, store: SqlStore, bus: EventBus) -> AsyncIterator[Server]:
    app = create_app(Settings(database_url=db_url, background_workers=False), store=store, bus=bus)
    async with running_app(app) as client:
        yield Server(client, app.state.lifecycle)


@pytest.fixture
def api(server: Server) -> httpx.AsyncClient:
    return server.http


def versions(entries: list[Entry]) -> list[int]:
    return [e.event["task"]["version"] for e in entries if e.event.get("type") == "task_updated"]


async def published(bus: EventBus, task_id: str) -> list[int]:
    return versions(await bus.read_after(task_id, START))


async def wait_for_versions(bus: EventBus, task_id: str, count: int) -> None:
    """Block until ``count`` changes of the task are on the stream (the bus wakes us)."""
    cursor, seen = START, 0
    async with asyncio.timeout(30):
        while seen < count:
            try:
                ready = await bus.wait({task_id: cursor}, timeout=5)
            except errors.BusUnavailable:
                continue  # a connection from before a Redis restart: the next one is fresh
            for entry in ready.get(task_id, []):
                cursor, seen = entry.id, seen + len(versions([entry]))


class FlakyBus:
    """A bus whose appends fail on demand, before reaching it or after (reply lost)."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.down = False
        self.lose_next_reply = False

    async def append(self, task_id: str, data: str) -> str:
        if self.down:
            raise errors.BusUnavailable("down")
        entry_id = await self.bus.append(task_id, data)
        if self.lose_next_reply:
            self.lose_next_reply = False
            raise errors.BusUnavailable("reply lost")
        return entry_id

    async def tail(self, task_id: str, count: int) -> list[Entry]:
        if self.down:
            raise errors.BusUnavailable("down")
        return await self.bus.tail(task_id, count)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bus, name)


# --------------------------------------------------------------------------- database path


async def test_relay_publishes_in_order_and_empties_the_outbox(
    api: httpx.AsyncClient, store: SqlStore, bus: EventBus
) -> None:
    task = await make_task(api)
    await api.post(f"/tasks/{task['id']}/interrupt")
    await api.put(f"/tasks/{task['id']}", json={"task_metadata": {"k": 1}})
    await api.post(f"/tasks/{task['id']}/complete")
    assert await Relay(store, bus).drain() == 3
    entries = await bus.read_after(task["id"], START)
    assert versions(entries) == [task["version"] + 1, task["version"] + 2, task["version"] + 3]
    assert entries[-1].event["task"]["status"] == "COMPLETED"
    assert await store.pending_outbox() == []


async def test_retry_after_unknown_outcome_checks_the_tail(
    api: httpx.AsyncClient, store: SqlStore, bus: EventBus
) -> None:
    published_, lost = await make_task(api), await make_task(api)
    for t in (published_, lost):
        await api.post(f"/tasks/{t['id']}/interrupt")
    rows = {r["task_id"]: r for r in await store.pending_outbox()}
    # The first publish reached the bus but its reply was lost; the second never arrived.
    await bus.append(published_["id"], rows[published_["id"]]["payload"])
    await store.mark_outbox_attempted([r["id"] for r in rows.values()])
    assert await Relay(store, bus).drain() == 2
    assert len(await bus.read_after(published_["id"], START)) == 1
    assert len(await bus.read_after(lost["id"], START)) == 1
    assert await store.pending_outbox() == []


async def test_relay_in_batches_keeps_per_task_order(
    api: httpx.AsyncClient, store: SqlStore, bus: EventBus
) -> None:
    tasks = [await make_task(api) for _ in range(3)]
    for verb in ("interrupt", "complete"):
        for t in tasks:
            await api.post(f"/tasks/{t['id']}/{verb}")
    assert await Relay(store, bus, batch=2).drain() == 6
    for t in tasks:
        assert await published(bus, t["id"]) == [t["version"] + 1, t["version"] + 2]


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_concurrent_relays_publish_each_row_once(
    api: httpx.AsyncClient, db_url: str, store: SqlStore, bus: EventBus
) -> None:
    """Relays in several processes skip each other's locked rows (PostgreSQL)."""
    tasks = [await make_task(api) for _ in range(10)]
    for verb in ("interrupt", "complete"):
        for t in tasks:
            await api.post(f"/tasks/{t['id']}/{verb}")
    others = [SqlStore(db_url) for _ in range(3)]
    try:
        relays = [Relay(s, bus, batch=3) for s in [store, *others]]
        await asyncio.gather(*(r.drain() for r in relays))
    finally:
        for s in others:
            await s.close()
    for t in tasks:
        assert await published(bus, t["id"]) == [t["version"] + 1, t["version"] + 2]
    assert await store.pending_outbox() == []


# --------------------------------------------------------------------------- fast path


async def test_fast_path_publishes_the_committed_row_and_deletes_it(
    server: Server, store: SqlStore, bus: EventBus
) -> None:
    relay = server.relay(bus)
    assert await relay.drain() == 0
    assert relay.mode is Mode.FAST
    task = await make_task(server.http)
    await server.http.post(f"/tasks/{task['id']}/complete")
    assert relay.queued == 1
    [row] = await store.pending_outbox()
    assert await relay.flush() == 1
    entries = await bus.read_after(task["id"], START)
    # Byte for byte what the database path would have published.
    assert [e.data for e in entries] == [row["payload"]]
    assert entries[0].event["task"]["status"] == "COMPLETED"
    assert await store.pending_outbox() == []


async def test_loop_relays_a_burst_in_order_per_task(
    server: Server, store: SqlStore, bus: EventBus
) -> None:
    relay = server.relay(bus)
    tasks = [await make_task(server.http) for _ in range(3)]
    relay.start()

    async def changes(task_id: str) -> None:
        # Concurrent writers of one task: its row lock orders them, the relay must follow.
        path = f"/tasks/{task_id}"
        await asyncio.gather(
            *(server.http.put(path, json={"task_metadata": {"n": n}}) for n in range(8))
        )
        await server.http.post(f"{path}/complete")

    await asyncio.gather(*(changes(t["id"]) for t in tasks))
    for t in tasks:
        await wait_for_versions(bus, t["id"], 9)
    await relay.stop()
    for t in tasks:
        assert await published(bus, t["id"]) == list(range(t["version"] + 1, t["version"] + 10))
    assert await store.pending_outbox() == []


async def test_stop_lets_the_loop_finish_and_publish_what_is_queued(
    server: Server, store: SqlStore, bus: EventBus
) -> None:
    relay = server.relay(bus)
    relay.start()
    task = await make_task(server.http)
    await server.http.post(f"/tasks/{task['id']}/interrupt")
    await relay.stop()
    assert await published(bus, task["id"]) == [task["version"] + 1]
    assert await store.pending_outbox() == []


async def test_without_an_outbox_id_the_database_path_relays_at_once(
    store: SqlStore, bus: EventBus, api: httpx.AsyncClient
) -> None:
    relay = Relay(store, bus, grace_seconds=PATIENT)
    await relay.drain()
    task = await make_task(api)
    await api.post(f"/tasks/{task['id']}/interrupt")
    [row] = await store.pending_outbox()
    await relay.on_commit({"id": task["id"], "version": row["version"]}, "someone")
    assert relay.mode is Mode.BACKLOG
    assert await relay.step() == 1
    assert await published(bus, task["id"]) == [task["version"] + 1]


def hooked_row(outbox_row: dict[str, Any]) -> dict[str, Any]:
    """The committed row an after-commit hook gets, rebuilt from its outbox row."""
    task = orjson.loads(outbox_row["payload"])["task"]
    return {**task, "outbox_id": outbox_row["id"]}


async def test_hooks_out_of_commit_order_publish_in_order_once(
    api: httpx.AsyncClient, store: SqlStore, bus: EventBus
) -> None:
    """A request may resume after the next change of its task committed and hooked."""
    relay = Relay(store, bus, grace_seconds=PATIENT)
    await relay.drain()
    task = await make_task(api)
    await api.post(f"/tasks/{task['id']}/interrupt")
    await api.put(f"/tasks/{task['id']}", json={"task_metadata": {"k": 1}})
    await api.post(f"/tasks/{task['id']}/complete")
    first, second, third = await store.pending_outbox()
    await relay.on_commit(hooked_row(second), "user")
    assert await relay.flush() == 0  # the first change is still in the outbox: wait
    assert relay.queued == 1
    await relay.on_commit(hooked_row(first), "user")
    assert await relay.flush() == 2
    # The third change's hook comes only after a claim (the poll, say) has published it.
    assert await relay.relay_once() == 1
    await relay.on_commit(hooked_row(third), "user")
    assert await relay.flush() == 0 and relay.queued == 0
    assert await published(bus, task["id"]) == [task["version"] + n for n in (1, 2, 3)]
    assert await store.pending_outbox() == []


async def test_fast_path_waits_for_an_older_row_a_dead_process_left(
    db_url: str, server: Server, store: SqlStore, bus: EventBus
) -> None:
    relay = server.relay(bus)
    await relay.drain()
    task = await make_task(server.http)
    other = SqlStore(db_url)
    try:
        await Lifecycle(other).apply_verb(task["id"], "interrupt", Change("user", None, None))
    finally:
        await other.close()
    await server.http.post(f"/tasks/{task['id']}/complete")
    assert await relay.flush() == 0 and relay.queued == 1
    # Once past the grace, the poll claims both rows, in order; the held one is dropped.
    assert await relay.relay_once() == 2
    assert await relay.flush() == 0 and relay.queued == 0
    assert await published(bus, task["id"]) == [task["version"] + 1, task["version"] + 2]


# --------------------------------------------------------------------------- outages


async def test_outage_switches_to_backlog_and_relays_each_change_once_in_order(
    server: Server, store: SqlStore, bus: EventBus
) -> None:
    flaky = FlakyBus(bus)
    relay = server.relay(flaky)  # type: ignore[arg-type]
    await relay.drain()
    tasks = [await make_task(server.http) for _ in range(2)]
    # The first change reaches the bus but its reply is lost; then the bus is away.
    flaky.lose_next_reply = True
    for t in tasks:
        await server.http.post(f"/tasks/{t['id']}/interrupt")
    with pytest.raises(errors.BusUnavailable):
        await relay.step()
    assert relay.mode is Mode.BACKLOG and relay.queued == 0
    assert [r["attempts"] for r in await store.pending_outbox()] == [1, 0]
    flaky.down = True
    for t in tasks:
        await server.http.post(f"/tasks/{t['id']}/complete")
    with pytest.raises(errors.BusUnavailable):
        await relay.step()
    assert len(await store.pending_outbox()) == 4
    flaky.down = False
    # Backlog: the database path drains everything in order, checking the tail of the
    # stream that may already hold the first change; then the fast path is back.
    assert await relay.step() == 4
    assert relay.mode is Mode.FAST
    for t in tasks:
        assert await published(bus, t["id"]) == [t["version"] + 1, t["version"] + 2]
    await server.http.put(f"/tasks/{tasks[0]['id']}", json={"task_metadata": {"after": 1}})
    assert await relay.step() == 1
    assert (await published(bus, tasks[0]["id"]))[-1] == tasks[0]["version"] + 3
    await relay.settle()
    assert await store.pending_outbox() == []


@pytest.fixture
def redis_proc() -> Iterator[RedisProcess]:
    service_url("TEST_REDIS_URL")  # Redis tests follow the same skip-locally / fail-in-CI rule
    proc = RedisProcess()
    proc.start()
    yield proc
    proc.stop()


@pytest.mark.redis
async def test_loop_recovers_from_a_redis_outage(
    db_url: str, store: SqlStore, redis_proc: RedisProcess
) -> None:
    bus = RedisStreamsBus(redis_proc.url)
    app = create_app(Settings(database_url=db_url, background_workers=False), store=store, bus=bus)
    try:
        async with running_app(app) as http:
            server = Server(http, app.state.lifecycle)
            relay = server.relay(bus, poll_seconds=0.05, max_backoff_seconds=0.1)
            tasks = [await make_task(http) for _ in range(3)]
            relay.start()
            await asyncio.to_thread(redis_proc.stop)
            for verb in ("interrupt", "complete"):
                for t in tasks:
                    assert (await http.post(f"/tasks/{t['id']}/{verb}")).status_code == 200
            await asyncio.to_thread(redis_proc.start)
            for t in tasks:
                await wait_for_versions(bus, t["id"], 2)
            await relay.stop()
            for t in tasks:
                assert await published(bus, t["id"]) == [t["version"] + 1, t["version"] + 2]
            assert await store.pending_outbox() == []
    finally:
        await bus.close()
