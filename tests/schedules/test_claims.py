"""The scheduler's claims on a fake clock: one fire per due time, coalesced catch-up,
overlap, pause/resume without catch-up, skips, DST; every backend.

Claims only: the fires recorded here are not run (``Scheduler.claim_due`` records them,
``tick`` would start them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentkeep.app import create_app
from agentkeep.rpc.context import Services
from agentkeep.schedules import edits
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.schedules.clock_kit import T0, FakeClock, make_agent, make_schedule, scheduler


@pytest.fixture
async def services(db_url: str, store: SqlStore) -> AsyncIterator[Services]:
    app = create_app(Settings(database_url=db_url, scheduler_enabled=False), store=store)
    async with app.router.lifespan_context(app):
        yield app.state.rpc_services


async def fires_of(store: SqlStore, schedule_id: str) -> list[dict[str, Any]]:
    return list(reversed(await store.list_fires(schedule_id, 1000, 0)))


async def test_three_schedulers_one_fire_per_due_time(
    services: Services, store: SqlStore, db_url: str
) -> None:
    agent = await make_agent(store)
    sched = await make_schedule(store, agent["id"], T0, interval_seconds=1)
    clock = FakeClock()
    peers = [SqlStore(db_url), SqlStore(db_url)]
    runners = [scheduler(services, clock), *(scheduler(services, clock, p) for p in peers)]
    try:
        for _ in range(10):
            clock.advance(seconds=1)
            claimed = await asyncio.gather(*(r.claim_due(clock.now) for r in runners))
            assert sum(len(c) for c in claimed) == 1
            # Settle the fire so the next second is not an overlap.
            (fire,) = [f for c in claimed for f in c]
            await store.start_fire(fire["id"], clock.now, clock.now + timedelta(seconds=60))
            await store.update_running_fire(fire["id"], 1, {"status": "launched"})
    finally:
        for p in peers:
            await p.close()
    fires = await fires_of(store, sched["id"])
    assert [f["nominal_time"] for f in fires] == [T0 + timedelta(seconds=s) for s in range(1, 11)]
    row = await store.find_schedule(agent["id"], schedule_id=sched["id"])
    assert row is not None and row["num_actions_taken"] == 10


async def test_long_stop_fires_once_for_the_gap(services: Services, store: SqlStore) -> None:
    agent = await make_agent(store)
    sched = await make_schedule(store, agent["id"], T0, interval_seconds=60)
    clock = FakeClock()
    clock.advance(hours=10, seconds=30)
    (fire,) = await scheduler(services, clock).claim_due(clock.now)
    assert fire["status"] == "pending"
    assert fire["nominal_time"] == T0 + timedelta(hours=10)
    row = await store.find_schedule(agent["id"], schedule_id=sched["id"])
    assert row is not None and row["next_fire_at"] == T0 + timedelta(hours=10, minutes=1)
    assert await scheduler(services, clock).claim_due(clock.now) == []


async def test_a_gap_beyond_the_catch_up_window_is_skipped(
    services: Services, store: SqlStore
) -> None:
    agent = await make_agent(store)
    sched = await make_schedule(store, agent["id"], T0, cron_expression="0 9 * * mon")
    clock = FakeClock()
    clock.advance(days=9)  # Wed 10 June: Monday 09:00 is 51 h ago, beyond the default 24 h
    (fire,) = await scheduler(services, clock).claim_due(clock.now)
    assert (fire["status"], fire["reason"]) == ("skipped", "missed_catchup_window")
    assert fire["nominal_time"] == datetime(2026, 6, 8, 9, tzinfo=UTC)
    assert fire["fire_id"] == f"agent-run-schedule:{sched['id']}-run-2026-06-08T09:00:00Z"
    row = await store.find_schedule(agent["id"], schedule_id=sched["id"])
    assert row is not None and row["num_actions_taken"] == 0


async def test_overlap_skips_while_an_earlier_fire_is_open(
    services: Services, store: SqlStore
) -> None:
    agent = await make_agent(store)
    sched = await make_schedule(store, agent["id"], T0, interval_seconds=60)
    clock = FakeClock()
    runner = scheduler(services, clock)
    clock.advance(minutes=1)
    (first,) = await runner.claim_due(clock.now)
    clock.advance(minutes=1)
    (second,) = await runner.claim_due(clock.now)
    assert first["status"] == "pending"
    assert (second["status"], second["reason"]) == ("skipped", "overlap")
    row = await store.find_schedule(agent["id"], schedule_id=sched["id"])
    assert row is not None and row["num_actions_taken"] == 1
    assert row["last_action_time"] == T0 + timedelta(minutes=1)


async def test_pause_then_resume_does_not_catch_up(services: Services, store: SqlStore) -> None:
    agent = await make_agent(store)
    sched = await make_schedule(store, agent["id"], T0, interval_seconds=3600)
    clock = FakeClock()
    runner = scheduler(services, clock)
    paused = edits.set_paused(True, "maintenance", clock.advance(minutes=10))
    assert await store.edit_schedule(agent["id"], sched["id"], clock.now, paused)
    clock.advance(hours=5)
    assert await runner.claim_due(clock.now) == []
    resume_at = clock.advance(minutes=5)  # 17:15
    resumed = edits.set_paused(False, None, resume_at)
    view = await store.edit_schedule(agent["id"], sched["id"], resume_at, resumed)
    assert view is not None and view.row["next_fire_at"] == T0 + timedelta(hours=6)
    assert await runner.claim_due(clock.advance(minutes=30)) == []
    (fire,) = await runner.claim_due(clock.advance(minutes=15))
    assert fire["nominal_time"] == T0 + timedelta(hours=6)


async def test_skip_and_unskip_change_what_fires(services: Services, store: SqlStore) -> None:
    agent = await make_agent(store)
    sched = await make_schedule(store, agent["id"], T0, interval_seconds=60)
    clock = FakeClock()
    runner = scheduler(services, clock)
    one, two, three = (T0 + timedelta(minutes=m) for m in (1, 2, 3))
    for t in (one, two):
        assert await store.edit_schedule(agent["id"], sched["id"], T0, edits.skip(t, T0))
    assert await store.edit_schedule(agent["id"], sched["id"], T0, edits.unskip(one, T0))
    for _ in range(3):
        for fire in await runner.claim_due(clock.advance(minutes=1)):
            await store.start_fire(fire["id"], clock.now, clock.now + timedelta(seconds=60))
            await store.update_running_fire(fire["id"], 1, {"status": "launched"})
    assert [f["nominal_time"] for f in await fires_of(store, sched["id"])] == [one, three]


async def test_cron_across_berlin_dst_fires_on_wall_clock(
    services: Services, store: SqlStore
) -> None:
    start = datetime(2026, 3, 27, tzinfo=UTC)
    agent = await make_agent(store)
    sched = await make_schedule(
        store, agent["id"], start, cron_expression="30 2 * * *", timezone="Europe/Berlin"
    )
    clock = FakeClock(start)
    runner = scheduler(services, clock)
    for _ in range(4 * 24 * 2):  # four days, every 30 minutes
        for fire in await runner.claim_due(clock.advance(minutes=30)):
            await store.start_fire(fire["id"], clock.now, clock.now + timedelta(seconds=60))
            await store.update_running_fire(fire["id"], 1, {"status": "launched"})
    nominal = [f["nominal_time"] for f in await fires_of(store, sched["id"])]
    assert nominal == [  # 29 March has no 02:30 in Berlin
        datetime(2026, 3, 27, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]


async def test_deleted_schedules_are_not_claimed(services: Services, store: SqlStore) -> None:
    agent = await make_agent(store)
    sched = await make_schedule(store, agent["id"], T0, interval_seconds=60)
    assert await store.delete_schedule(agent["id"], sched["id"], T0)
    clock = FakeClock()
    assert await scheduler(services, clock).claim_due(clock.advance(minutes=5)) == []


async def test_skips_survive_a_patch_unless_off_the_new_cadence(
    services: Services, store: SqlStore
) -> None:
    agent = await make_agent(store)
    sched = await make_schedule(store, agent["id"], T0, interval_seconds=60)
    two, three = T0 + timedelta(minutes=2), T0 + timedelta(minutes=3)
    for t in (two, three):
        assert await store.edit_schedule(agent["id"], sched["id"], T0, edits.skip(t, T0))
    body = edits.ScheduleUpdate.model_validate({"interval_seconds": 120, "description": None})
    view = await store.edit_schedule(agent["id"], sched["id"], T0, edits.patch(body, T0))
    assert view is not None and view.skips == [two]  # 12:03 is not on a 2-minute cadence
    assert view.row["next_fire_at"] == T0 + timedelta(minutes=4)
    assert (view.row["cron_expression"], view.row["description"]) == (None, None)
