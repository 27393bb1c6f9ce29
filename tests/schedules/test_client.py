"""Every method of agentex-client's ``agents.schedules`` against a real server process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import agentex
import pytest

from tests.schedules.conftest import INPUT


def _error(exc: pytest.ExceptionInfo[agentex.APIStatusError]) -> tuple[int, str]:
    return exc.value.status_code, exc.value.body["message"]  # type: ignore[index]


async def test_create_retrieve_list_update_delete(
    sdk: agentex.AsyncAgentex, agent: dict[str, Any]
) -> None:
    s = sdk.agents.schedules
    created = await s.create(
        agent["id"],
        name="daily-report",
        initial_input=INPUT,  # type: ignore[arg-type]
        cron_expression="0 9 * * MON-FRI",
        timezone="Europe/Berlin",
        task_metadata={"team": "a"},
        description="weekday report",
    )
    assert created.agent_id == agent["id"] and created.state == "ACTIVE"
    assert created.initial_input_method == "message/send"
    assert created.live_data_available is True and len(created.next_action_times or []) == 10
    assert created.creator_principal is not None
    assert created.creator_principal.principal_type is None
    got = await s.retrieve(created.id, agent_id=agent["id"])
    assert got.name == "daily-report" and got.next_action_times == created.next_action_times
    assert (await s.retrieve_by_name("daily-report", agent_id=agent["id"])).id == created.id

    listed = await s.list(agent["id"])
    assert listed.total == 1 and listed.run_schedules[0].next_action_times == []
    assert listed.run_schedules[0].live_data_available is None
    live = await s.list(agent["id"], include_live=True, limit=5)
    assert live.run_schedules[0].live_data_available is True

    updated = await s.update(
        created.id, agent_id=agent["id"], interval_seconds=3600, description=None
    )
    assert updated.interval_seconds == 3600 and updated.cron_expression is None
    assert updated.description is None and updated.timezone == "Europe/Berlin"
    renamed = await s.update_by_name(
        "daily-report", agent_id=agent["id"], body_name="hourly-report"
    )
    assert renamed.name == "hourly-report"

    gone = await s.delete_by_name("hourly-report", agent_id=agent["id"])
    assert gone.id == created.id
    assert gone.message == "Run schedule 'hourly-report' deleted successfully"
    with pytest.raises(agentex.NotFoundError) as exc:
        await s.delete(created.id, agent_id=agent["id"])
    assert _error(exc) == (
        404,
        f"Run schedule '{created.id}' for agent '{agent['id']}' does not exist.",
    )
    # The name is free again after a delete.
    again = await s.create(
        agent["id"], name="hourly-report", initial_input=INPUT, interval_seconds=60
    )  # type: ignore[arg-type]
    assert (await s.delete(again.id, agent_id=agent["id"])).message == (
        f"Run schedule '{again.id}' deleted successfully"
    )


async def test_pause_resume_trigger_skip_unskip(
    sdk: agentex.AsyncAgentex, agent: dict[str, Any]
) -> None:
    s = sdk.agents.schedules
    created = await s.create(agent["id"], name="tick", initial_input=INPUT, interval_seconds=3600)  # type: ignore[arg-type]
    paused = await s.pause(created.id, agent_id=agent["id"], note="maintenance")
    assert paused.state == "PAUSED" and paused.paused is True
    assert len(paused.next_action_times or []) == 10  # listed while paused too
    assert (await s.pause_by_name("tick", agent_id=agent["id"])).state == "PAUSED"  # no-op
    assert (await s.resume(created.id, agent_id=agent["id"])).state == "ACTIVE"
    assert (await s.resume_by_name("tick", agent_id=agent["id"], note="ok")).state == "ACTIVE"

    upcoming = (await s.retrieve(created.id, agent_id=agent["id"])).next_action_times or []
    skipped = await s.skip(created.id, agent_id=agent["id"], scheduled_time=upcoming[1])
    assert skipped.skipped_action_times == [upcoming[1]]
    assert upcoming[1] not in (skipped.next_action_times or [])
    unskipped = await s.unskip(created.id, agent_id=agent["id"], scheduled_time=upcoming[1])
    assert unskipped.skipped_action_times == [] and unskipped.next_action_times == upcoming

    triggered = await s.trigger(created.id, agent_id=agent["id"])
    assert triggered.id == created.id and triggered.num_actions_taken == 0
    assert (await s.trigger_by_name("tick", agent_id=agent["id"])).id == created.id
    fires = await sdk.get(
        f"/agents/{agent['id']}/schedules/{created.id}/fires", cast_to=list[dict[str, Any]]
    )
    assert [f["trigger_type"] for f in fires] == ["manual", "manual"]
    assert all(f["fire_id"].startswith(f"agent-run-schedule:{created.id}-manual-") for f in fires)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 422, "Provide exactly one of cron_expression or interval_seconds"),
        (
            {"cron_expression": "* * * * *", "interval_seconds": 5},
            422,
            "Provide exactly one of cron_expression or interval_seconds",
        ),
        (
            {"cron_expression": "0 0 * * * *"},
            400,
            "Invalid cron expression '0 0 * * * *': expected 5 fields "
            "(minute hour day-of-month month day-of-week), got 6",
        ),
        ({"interval_seconds": 5, "timezone": "Mars/Base"}, 400, "Invalid timezone 'Mars/Base'"),
        (
            {
                "interval_seconds": 5,
                "start_at": "2030-01-02T00:00:00Z",
                "end_at": "2030-01-01T00:00:00Z",
            },
            400,
            "end_at must be after start_at",
        ),
    ],
)
async def test_create_refusals(
    sdk: agentex.AsyncAgentex,
    agent: dict[str, Any],
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    with pytest.raises(agentex.APIStatusError) as exc:
        await sdk.agents.schedules.create(agent["id"], name="x", initial_input=INPUT, **body)  # type: ignore[arg-type]
    assert _error(exc) == (status, message)
    assert (await sdk.agents.schedules.list(agent["id"])).total == 0


async def refused(call: Any, status: int, message: str) -> None:
    with pytest.raises(agentex.APIStatusError) as exc:
        await call
    assert _error(exc) == (status, message)


async def test_update_refusals_change_nothing(
    sdk: agentex.AsyncAgentex, agent: dict[str, Any]
) -> None:
    s = sdk.agents.schedules
    aid = agent["id"]
    one = await s.create(aid, name="one", initial_input=INPUT, interval_seconds=3600)  # type: ignore[arg-type]
    await s.create(aid, name="two", initial_input=INPUT, interval_seconds=3600)  # type: ignore[arg-type]
    taken = f"Run schedule '{{}}' already exists for agent '{aid}'"
    await refused(
        s.create(aid, name="one", initial_input=INPUT, interval_seconds=9),  # type: ignore[arg-type]
        400,
        taken.format("one"),
    )
    await refused(s.update(one.id, agent_id=aid, name="two"), 400, taken.format("two"))
    await refused(
        s.update(one.id, agent_id=aid, cron_expression="* * * * *", interval_seconds=5),
        422,
        "Provide only one of cron_expression or interval_seconds, not both",
    )
    await refused(
        s.update(one.id, agent_id=aid, interval_seconds=None),
        400,
        "Schedule must have exactly one of cron_expression or interval_seconds",
    )
    await refused(
        s.update(one.id, agent_id=aid, cron_expression="0 0 L * *"),
        400,
        "Invalid cron expression '0 0 L * *': "
        "'L' is not a plain cron field (L, W, # and ? are not supported)",
    )
    await refused(
        s.retrieve_by_name("nope", agent_id=aid),
        404,
        f"Run schedule 'nope' for agent '{aid}' does not exist.",
    )
    await refused(
        s.retrieve("missing", agent_id="no-agent"), 404, "Item with id 'no-agent' does not exist."
    )
    after = await s.retrieve(one.id, agent_id=aid)
    assert (after.updated_at, after.name, after.interval_seconds) == (one.updated_at, "one", 3600)


async def test_skip_refusals_change_nothing(
    sdk: agentex.AsyncAgentex, agent: dict[str, Any]
) -> None:
    s = sdk.agents.schedules
    aid = agent["id"]
    one = await s.create(aid, name="one", initial_input=INPUT, interval_seconds=3600)  # type: ignore[arg-type]
    await refused(
        s.skip(one.id, agent_id=aid, scheduled_time="2030-01-01T00:00:00"),
        422,
        "scheduled_time must include timezone information.",
    )
    past = "2020-01-01T00:00:00Z"
    await refused(
        s.skip(one.id, agent_id=aid, scheduled_time=past), 400, "Cannot skip a past scheduled time"
    )
    await refused(
        s.unskip(one.id, agent_id=aid, scheduled_time=past),
        400,
        "Cannot unskip a past scheduled time",
    )
    await refused(
        s.skip(one.id, agent_id=aid, scheduled_time="2099-01-01T00:30:00Z"),
        400,
        "Cannot skip a time that is not an upcoming schedule action",
    )
    await refused(
        s.unskip(one.id, agent_id=aid, scheduled_time="2099-01-01T00:00:00Z"),
        400,
        "Cannot unskip a time that is not currently skipped",
    )
    after = await s.retrieve(one.id, agent_id=aid)
    assert after.updated_at == one.updated_at and after.skipped_action_times == []


async def test_deleted_agent(sdk: agentex.AsyncAgentex, agent: dict[str, Any]) -> None:
    s = sdk.agents.schedules
    one = await s.create(agent["id"], name="one", initial_input=INPUT, interval_seconds=60)  # type: ignore[arg-type]
    await sdk.agents.delete(agent["id"])
    with pytest.raises(agentex.NotFoundError) as exc:
        await s.retrieve(one.id, agent_id=agent["id"])
    assert _error(exc) == (404, f"Agent {agent['id']} not found")


async def test_skip_is_compared_in_utc(sdk: agentex.AsyncAgentex, agent: dict[str, Any]) -> None:
    s = sdk.agents.schedules
    one = await s.create(agent["id"], name="one", initial_input=INPUT, interval_seconds=3600)  # type: ignore[arg-type]
    nxt = (one.next_action_times or [])[2]
    local = nxt.astimezone(UTC).astimezone(datetime.now().astimezone().tzinfo) + timedelta(0)
    berlin = nxt.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    skipped = await s.skip(one.id, agent_id=agent["id"], scheduled_time=berlin)
    assert skipped.skipped_action_times == [nxt] and local == nxt
    with pytest.raises(agentex.BadRequestError) as exc:
        await s.skip(one.id, agent_id=agent["id"], scheduled_time=nxt)  # a repeated skip
    assert _error(exc) == (400, "Cannot skip a time that is not an upcoming schedule action")
