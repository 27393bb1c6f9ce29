"""Many viewers of one task opening at once, on a real Redis: what reaches Redis.

A private ``redis-server`` (not the shared one) so that Redis's own command counters see
this test's commands alone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from tests.reliability.services import PrivateRedis

from agentkeep.bus.base import START
from agentkeep.bus.redis import RedisStreamsBus
from agentkeep.fanout import Fanout

VIEWERS = 500


@pytest.fixture
async def admin(redis_srv: PrivateRedis) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_srv.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def bus(redis_srv: PrivateRedis) -> AsyncIterator[RedisStreamsBus]:
    """A bus with a pool of 4 command connections (2 of them for reads)."""
    bus = RedisStreamsBus(redis_srv.url, max_connections=4)
    yield bus
    await bus.close()


async def calls(admin: aioredis.Redis) -> dict[str, int]:
    """Commands Redis executed since the last ``CONFIG RESETSTAT``, by name."""
    stats = await admin.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()}


async def test_viewers_opening_together_cost_redis_one_read_of_each_kind(
    bus: RedisStreamsBus, admin: aioredis.Redis
) -> None:
    task = str(uuid.uuid4())
    ids = [await bus.publish(task, {"type": "delta", "n": n}) for n in range(3)]
    await admin.config_resetstat()

    ends, backlogs = await asyncio.gather(
        asyncio.gather(*(bus.last_id(task) for _ in range(VIEWERS))),
        asyncio.gather(*(bus.read_after(task, START) for _ in range(VIEWERS))),
    )

    assert set(ends) == {ids[-1]}
    assert all([e.id for e in backlog] == ids for backlog in backlogs)
    seen = await calls(admin)
    assert (seen.get("xrevrange"), seen.get("xrange")) == (1, 1)


async def test_a_burst_of_reads_leaves_connections_for_writes_and_the_probe(
    bus: RedisStreamsBus,
) -> None:
    # Reads of many different tasks cannot be shared; they still never take the last
    # connections of the pool, so a publish and the health probe do not queue behind them.
    finished = 0

    async def read(task: str) -> None:
        nonlocal finished
        await bus.read_after(task, START)
        finished += 1

    reads = [asyncio.create_task(read(str(uuid.uuid4()))) for _ in range(2000)]
    await asyncio.sleep(0)
    await bus.ping()
    await bus.publish(str(uuid.uuid4()), {"type": "delta"})
    finished_before_writes = finished
    await asyncio.gather(*reads)
    assert finished_before_writes < len(reads) // 2, finished_before_writes


async def test_viewers_subscribing_together_cost_one_read_and_one_wake_up(
    bus: RedisStreamsBus, admin: aioredis.Redis
) -> None:
    fanout = Fanout(bus)
    task = str(uuid.uuid4())
    await bus.publish(task, {"type": "delta"})
    await admin.config_resetstat()

    viewers = await asyncio.gather(*(fanout.subscribe(task, START) for _ in range(VIEWERS)))

    assert fanout.viewer_count == VIEWERS
    seen = await calls(admin)
    assert (seen.get("xrevrange"), seen.get("xadd")) == (1, 1)  # the stream's end; the wake
    for viewer in viewers:
        fanout.unsubscribe(viewer)


async def test_the_first_viewer_leaving_does_not_cancel_the_start_the_others_wait_on(
    bus: RedisStreamsBus,
) -> None:
    fanout = Fanout(bus)
    task = str(uuid.uuid4())
    first, *others = [asyncio.create_task(fanout.subscribe(task, START)) for _ in range(3)]
    await asyncio.sleep(0)  # all three wait on the one start, its read to Redis in flight
    first.cancel()
    viewers = await asyncio.gather(*others)
    assert first.cancelled()
    assert fanout.viewer_count == 2
    for viewer in viewers:
        fanout.unsubscribe(viewer)
