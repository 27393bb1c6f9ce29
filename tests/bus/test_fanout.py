"""The per-process fan-out on every bus: one reader, bounded queues per viewer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from agentkeep.bus.base import START, EventBus
from agentkeep.fanout import Fanout, ViewerTooSlow


@pytest.fixture
async def fanout(bus: EventBus) -> AsyncIterator[Fanout]:
    f = Fanout(bus, queue_size=100)
    f.start()
    yield f
    await f.close()


async def test_every_viewer_gets_every_entry_in_order(fanout: Fanout, bus: EventBus) -> None:
    tasks = [str(uuid.uuid4()) for _ in range(3)]
    viewers = [await fanout.subscribe(t, START) for t in tasks for _ in range(4)]
    published = {
        t: [await bus.publish(t, {"type": "delta", "n": n}) for n in range(5)] for t in tasks
    }
    for viewer in viewers:
        got = [await viewer.next(10) for _ in range(5)]
        assert [e.id for e in got if e] == published[viewer.task_id]


async def test_slow_viewer_is_dropped_without_holding_up_others(
    fanout: Fanout, bus: EventBus
) -> None:
    task = str(uuid.uuid4())
    slow = await fanout.subscribe(task, START, queue_size=2)
    fast = await fanout.subscribe(task, START)
    ids = [await bus.publish(task, {"type": "delta", "n": n}) for n in range(5)]
    # Delivery reaches all viewers of a batch at once: once the fast one has the last entry,
    # the slow one has been offered all five.
    assert [(e.id if e else None) for e in [await fast.next(10) for _ in ids]] == ids
    with pytest.raises(ViewerTooSlow):
        await slow.next(10)


async def test_last_viewer_leaving_stops_watching(fanout: Fanout) -> None:
    task = str(uuid.uuid4())
    viewer = await fanout.subscribe(task, START)
    assert fanout.viewer_count == 1
    fanout.unsubscribe(viewer)
    assert fanout.viewer_count == 0
