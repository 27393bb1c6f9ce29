"""The in-memory bus is bounded by bytes, not only by entries per stream, and holds each
event's content once (issue 7: 20 messages of 8 MB on one unwatched task kept 350 MB)."""

from __future__ import annotations

import orjson

from agentkeep.app import _make_bus
from agentkeep.bus.base import START
from agentkeep.bus.memory import InMemoryBus
from agentkeep.settings import Settings


def _event(n: int, size: int) -> str:
    return orjson.dumps({"type": "full", "n": n, "pad": "x" * size}).decode()


async def test_all_streams_together_stay_under_max_bytes_oldest_first() -> None:
    bus = InMemoryBus(maxlen=100, ttl_seconds=3600, max_bytes=1000)
    for n in range(9):
        await bus.append(f"task-{n % 3}", _event(n, 250))
        assert bus.held_bytes <= 1000
    held = {
        t: [e.event["n"] for e in await bus.read_after(t, START)]
        for t in ("task-0", "task-1", "task-2")
    }
    # 3 entries of ~280 bytes fit: the newest three, whichever streams they are on.
    assert held == {"task-0": [6], "task-1": [7], "task-2": [8]}


async def test_an_entry_larger_than_the_bound_is_kept_alone_for_its_viewers() -> None:
    bus = InMemoryBus(maxlen=100, ttl_seconds=3600, max_bytes=1000)
    await bus.append("a", _event(0, 10))
    await bus.append("b", _event(1, 5000))
    assert await bus.read_after("a", START) == []
    assert [e.event["n"] for e in await bus.read_after("b", START)] == [1]
    await bus.append("b", _event(2, 10))
    assert [e.event["n"] for e in await bus.read_after("b", START)] == [2]


async def test_maxlen_trims_and_expiry_release_their_bytes() -> None:
    bus = InMemoryBus(maxlen=2, ttl_seconds=0, max_bytes=10_000)
    for n in range(50):
        await bus.append("a", _event(n, 10))
    assert [e.event["n"] for e in await bus.read_after("a", START)] == [48, 49]
    assert bus.held_bytes == sum(len(e.data) for e in await bus.read_after("a", START))
    # The age queue of trimmed entries is compacted, not kept forever.
    assert len(bus._age) <= 2 * 2 + 1024


async def test_an_entry_keeps_its_text_and_a_small_head_not_a_decoded_copy() -> None:
    bus = InMemoryBus()
    task = {"id": "t", "status": "RUNNING", "version": 3, "params": {"big": "x" * 1000}}
    await bus.publish("t", {"type": "task_updated", "task": task})
    (entry,) = await bus.read_after("t", START)
    assert (entry.head.type, entry.head.version, entry.head.status) == (
        "task_updated",
        3,
        "RUNNING",
    )
    assert entry.event["task"] == task
    assert set(vars(entry)) == {"id", "data", "head"}


def test_the_setting_bounds_the_servers_bus() -> None:
    bus = _make_bus(Settings(stream_max_bytes=12345))
    assert isinstance(bus, InMemoryBus) and bus.max_bytes == 12345
    assert Settings().stream_max_bytes == 64 * 1024 * 1024
