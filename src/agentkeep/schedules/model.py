"""A schedule row's meaning: its cadence, its next fire, its wire shape, its fire ids.

Pure functions over stored rows and an explicit ``now``: the routes, the scheduler loop
and the fake-clock tests share them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any, Final
from uuid import uuid4

from agentkeep.domain.agents import AcpType
from agentkeep.schedules.cadence import Cadence
from agentkeep.store.rows import ScheduleRow

#: Fields stored as given and returned as stored.
STORED_FIELDS: Final = (
    "id",
    "agent_id",
    "name",
    "description",
    "cron_expression",
    "interval_seconds",
    "timezone",
    "start_at",
    "end_at",
    "paused",
    "task_params",
    "task_metadata",
    "initial_input",
    "creator_principal",
    "created_at",
    "updated_at",
)


def cadence_of(row: Mapping[str, Any]) -> Cadence:
    """``row``: a stored schedule, or the values about to be written."""
    return Cadence(
        cron=row["cron_expression"],
        interval_seconds=row["interval_seconds"],
        timezone=row["timezone"],
        start_at=row["start_at"],
        end_at=row["end_at"],
    )


def next_fire_at(
    row: Mapping[str, Any], skips: Collection[datetime], now: datetime
) -> datetime | None:
    """The column the loop claims on: null while paused; else the first time after now."""
    if row["paused"] or row.get("deleted_at") is not None:
        return None
    return cadence_of(row).next(now, set(skips))


def input_method(acp_type: str) -> str:
    return "message/send" if acp_type == AcpType.SYNC else "event/send"


def wire(
    row: ScheduleRow,
    skips: list[datetime],
    acp_type: str,
    now: datetime,
    *,
    live: bool,
) -> dict[str, Any]:
    """RunSchedule; the live fields are filled only when asked for, as in Agentex."""
    out: dict[str, Any] = {k: row[k] for k in STORED_FIELDS}
    out["initial_input_method"] = input_method(acp_type)
    out["state"] = "PAUSED" if row["paused"] else "ACTIVE"
    if not live:
        out.update(
            next_action_times=[],
            skipped_action_times=[],
            last_action_time=None,
            num_actions_taken=0,
            live_data_available=None,
        )
        return out
    future = sorted(t for t in skips if t > now)
    out.update(
        next_action_times=cadence_of(row).upcoming(now, set(future)),
        skipped_action_times=future,
        last_action_time=row["last_action_time"],
        num_actions_taken=row["num_actions_taken"],
        live_data_available=True,
    )
    return out


def creator_principal(*, api_name: str | None, agent_id: str | None) -> dict[str, Any]:
    """Who created a schedule, without any credential in it."""
    out: dict[str, Any] = {
        "principal_type": None,
        "user_id": None,
        "service_account_id": None,
        "account_id": None,
    }
    if api_name is not None:
        out.update(principal_type="api_key", service_account_id=api_name)
    elif agent_id is not None:
        out.update(principal_type="agent", service_account_id=agent_id)
    return out


def iso_z(t: datetime, *, micro: bool = False) -> str:
    """UTC ISO 8601 with ``Z``: seconds for cadence times, microseconds for triggers."""
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ"
    return t.astimezone(UTC).strftime(fmt)


def scheduled_fire_id(schedule_id: str, nominal: datetime) -> str:
    return f"agent-run-schedule:{schedule_id}-run-{iso_z(nominal)}"


def manual_fire_id(schedule_id: str, trigger_time: datetime) -> str:
    return f"agent-run-schedule:{schedule_id}-manual-{uuid4()}-{iso_z(trigger_time, micro=True)}"


def task_name(schedule_id: str, fire_id: str) -> str:
    return f"scheduled-run:{schedule_id}:{fire_id}"
