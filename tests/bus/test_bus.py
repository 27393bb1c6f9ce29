"""The ``EventBus`` contract, run against the in-memory bus and Redis Streams alike."""

from __future__ import annotations

import asyncio
import uuid

from agentkeep.bus.base import START, EventBus, parse_id


def new_task() -> str:
    return str(uuid.uuid4())


async def test_publish_returns_growing_ids(bus: EventBus) -> None:
    task = new_task()
    ids = [await bus.publish(task, {"type": "delta", "n": n}) for n in range(5)]
    assert [parse_id(i) for i in ids] == sorted(parse_id(i) for i in ids)
    assert len(set(ids)) == 5
    assert await bus.last_id(task) == ids[-1]


async def test_empty_stream_has_start_cursor(bus: EventBus) -> None:
    task = new_task()
    assert await bus.last_id(task) == START
    assert await bus.read_after(task, START) == []
    assert await bus.tail(task, 5) == []


async def test_read_after_is_strictly_after_the_cursor(bus: EventBus) -> None:
    task = new_task()
    ids = [await bus.publish(task, {"type": "delta", "n": n}) for n in range(4)]
    after = await bus.read_after(task, ids[1])
    assert [e.id for e in after] == ids[2:]
    assert [e.event["n"] for e in after] == [2, 3]
    assert [e.id for e in await bus.read_after(task, START, count=2)] == ids[:2]


async def test_tail_is_newest_entries_oldest_first(bus: EventBus) -> None:
    task = new_task()
    ids = [await bus.publish(task, {"type": "delta", "n": n}) for n in range(4)]
    assert [e.id for e in await bus.tail(task, 2)] == ids[2:]


async def test_append_keeps_the_raw_json(bus: EventBus) -> None:
    task = new_task()
    raw = '{"type": "full", "index": 0}'
    await bus.append(task, raw)
    [entry] = await bus.read_after(task, START)
    assert entry.data == raw
    assert entry.event == {"type": "full", "index": 0}


async def test_stream_is_bounded(bus: EventBus) -> None:
    task = new_task()
    for n in range(3000):
        await bus.publish(task, {"type": "delta", "n": n})
    held = await bus.read_after(task, START, count=10_000)
    # Trimming is approximate on Redis (MAXLEN ~), exact in memory: bounded either way.
    assert 1000 <= len(held) < 3000
    assert held[-1].event["n"] == 2999


async def test_wait_returns_entries_already_after_the_cursor(bus: EventBus) -> None:
    task, other = new_task(), new_task()
    first = await bus.publish(task, {"type": "delta"})
    ready = await bus.wait({task: START, other: START}, timeout=5)
    assert list(ready) == [task]
    assert [e.id for e in ready[task]] == [first]


async def test_wait_wakes_on_publish(bus: EventBus) -> None:
    task = new_task()
    waiting = asyncio.create_task(bus.wait({task: await bus.last_id(task)}, timeout=30))
    entry_id = await bus.publish(task, {"type": "delta"})
    ready = await waiting
    assert [e.id for e in ready[task]] == [entry_id]


async def test_wait_times_out_empty(bus: EventBus) -> None:
    assert await bus.wait({new_task(): START}, timeout=0.05) == {}


async def test_interrupt_wakes_a_pending_wait(bus: EventBus) -> None:
    waiting = asyncio.create_task(bus.wait({new_task(): START}, timeout=30))
    await asyncio.sleep(0)  # let the wait start; an earlier interrupt must count as well
    await bus.interrupt()
    assert await waiting == {}


async def test_ping(bus: EventBus) -> None:
    await bus.ping()
