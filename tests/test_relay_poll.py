"""The outbox relay's poll: rows left behind by a dead process, and fresh rows left to the
fast path of the process that committed them. (Fixtures and helpers: ``tests.test_relay``.)"""

from __future__ import annotations

from agentkeep.bus.base import EventBus
from agentkeep.lifecycle import Lifecycle
from agentkeep.relay import Mode, Relay
from agentkeep.store import SqlStore
from agentkeep.store.tasks import Change
from tests.streaming_kit import make_task
from tests.test_relay import Server, published, server, wait_for_versions

__all__ = ["server"]  # a fixture, imported so pytest finds it here too


async def test_poll_relays_rows_a_dead_process_left_behind(
    db_url: str, server: Server, store: SqlStore, bus: EventBus
) -> None:
    relay = server.relay(bus, poll_seconds=0.05, grace_seconds=0)
    await relay.drain()  # past the startup drain: only the fast-mode poll can find the row
    task = await make_task(server.http)
    # Another process commits a change and dies before relaying it: nothing hooks it.
    other = SqlStore(db_url)
    try:
        dead = Lifecycle(other)
        await dead.apply_verb(task["id"], "interrupt", Change("user", None, None))
    finally:
        await other.close()
    assert relay.mode is Mode.FAST and relay.queued == 0
    relay.start()
    await wait_for_versions(bus, task["id"], 1)
    await relay.stop()
    assert await published(bus, task["id"]) == [task["version"] + 1]
    assert await store.pending_outbox() == []


async def test_poll_leaves_fresh_rows_to_the_fast_path_of_their_process(
    db_url: str, server: Server, store: SqlStore, bus: EventBus
) -> None:
    live = server.relay(bus, grace_seconds=None)
    await live.drain()
    other = SqlStore(db_url)
    try:
        # A second process whose relay polls the shared outbox with the default grace.
        poller = Relay(other, bus)
        await poller.drain()
        assert poller.mode is Mode.FAST and poller.grace_seconds >= 2
        tasks = [await make_task(server.http) for _ in range(3)]
        for t in tasks:
            await server.http.post(f"/tasks/{t['id']}/interrupt")
        assert await poller.poll() == 0
        assert await live.flush() == 3
        assert await poller.poll() == 0
    finally:
        await other.close()
    for t in tasks:
        assert await published(bus, t["id"]) == [t["version"] + 1]
    assert await store.pending_outbox() == []
