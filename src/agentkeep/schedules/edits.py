"""Schedule bodies and the edits they make: create, PATCH, pause/resume, skip/unskip.

Each edit is a function of the stored row and its skips that returns the new values,
``next_fire_at`` included; the store runs it inside the row's write transaction, so the
recomputation always starts from what is stored (see ``store.schedules``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from agentkeep import errors
from agentkeep.domain import models
from agentkeep.domain.limits import CheckedBody
from agentkeep.schedules import model
from agentkeep.schedules.cadence import Cadence, parse_utc
from agentkeep.store.rows import ScheduleRow
from agentkeep.store.schedules import Recompute, ScheduleEdit

#: About a century: longer intervals overflow timestamp arithmetic.
MAX_INTERVAL = 100 * 366 * 86_400
ScheduleName = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=64, pattern=r"^(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$"
    ),
]


class InitialInput(BaseModel):
    type: Literal["text"] = "text"
    author: Literal["user", "agent"] = "user"
    content: str


class ScheduleCreate(CheckedBody):
    name: ScheduleName
    initial_input: InitialInput
    cron_expression: str | None = None
    interval_seconds: int | None = Field(None, ge=1, le=MAX_INTERVAL)
    description: str | None = None
    timezone: str = "UTC"
    start_at: datetime | None = None
    end_at: datetime | None = None
    paused: bool = False
    task_params: dict[str, Any] | None = None
    task_metadata: dict[str, Any] | None = None


class ScheduleUpdate(CheckedBody):
    name: ScheduleName | None = None
    initial_input: InitialInput | None = None
    cron_expression: str | None = None
    interval_seconds: int | None = Field(None, ge=1, le=MAX_INTERVAL)
    description: str | None = None
    timezone: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    paused: bool | None = None
    task_params: dict[str, Any] | None = None
    task_metadata: dict[str, Any] | None = None


class StateNote(CheckedBody):
    note: str | None = None


class ScheduledTime(CheckedBody):
    scheduled_time: datetime


#: PATCH fields a null clears; the others (name, timezone, paused, initial_input) ignore it.
CLEARABLE = ("description", "start_at", "end_at", "task_params", "task_metadata")
PLAIN = ("name", "timezone", "initial_input", *CLEARABLE)


def _utc(value: datetime | None) -> datetime | None:
    return parse_utc(value) if value is not None else None


def _validated(values: dict[str, Any]) -> Cadence:
    """The cadence the values describe; 400 on a bad cron, zone or window."""
    return Cadence(
        cron=values["cron_expression"],
        interval_seconds=values["interval_seconds"],
        timezone=values["timezone"],
        start_at=values["start_at"],
        end_at=values["end_at"],
    )


def new_schedule(
    body: ScheduleCreate, agent_id: str, creator: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The row to insert; 422 unless exactly one cadence is given."""
    if (body.cron_expression is None) == (body.interval_seconds is None):
        raise errors.Unprocessable("Provide exactly one of cron_expression or interval_seconds")
    values: dict[str, Any] = {
        "id": models.new_id(),
        "agent_id": agent_id,
        "name": body.name,
        "description": body.description,
        "cron_expression": body.cron_expression,
        "interval_seconds": body.interval_seconds,
        "timezone": body.timezone,
        "start_at": _utc(body.start_at),
        "end_at": _utc(body.end_at),
        "paused": body.paused,
        "task_params": body.task_params,
        "task_metadata": body.task_metadata,
        "initial_input": body.initial_input.model_dump(),
        "creator_principal": creator,
        "version": 1,
        "num_actions_taken": 0,
        "created_at": now,
        "updated_at": now,
    }
    _validated(values)
    values["next_fire_at"] = model.next_fire_at(values, (), now)
    return values


def check_update(body: ScheduleUpdate) -> None:
    """Refusals that need no stored row (before any write)."""
    if body.cron_expression is not None and body.interval_seconds is not None:
        raise errors.Unprocessable(
            "Provide only one of cron_expression or interval_seconds, not both"
        )


def patch(body: ScheduleUpdate, now: datetime) -> Recompute:
    """The PATCH edit: only fields present change; skips off the new cadence are dropped."""
    given = body.model_fields_set

    def edit(row: ScheduleRow, skips: list[datetime]) -> ScheduleEdit:
        values: dict[str, Any] = {}
        for name in PLAIN:
            value = getattr(body, name)
            if name in given and (value is not None or name in CLEARABLE):
                values[name] = value.model_dump() if isinstance(value, BaseModel) else value
        for name in ("start_at", "end_at"):
            if name in values:
                values[name] = _utc(values[name])
        if "cron_expression" in given:
            values["cron_expression"] = body.cron_expression
            if body.cron_expression is not None:
                values["interval_seconds"] = None
        if "interval_seconds" in given:
            values["interval_seconds"] = body.interval_seconds
            if body.interval_seconds is not None:
                values["cron_expression"] = None
        merged = {**row, **values}
        if (merged["cron_expression"] is None) == (merged["interval_seconds"] is None):
            raise errors.BadRequest(
                "Schedule must have exactly one of cron_expression or interval_seconds"
            )
        cadence = _validated(merged)
        if body.paused is not None and body.paused != row["paused"]:
            values["paused"] = merged["paused"] = body.paused
        kept = {t for t in skips if cadence.is_time(t)}
        values["next_fire_at"] = model.next_fire_at(merged, kept, now)
        return ScheduleEdit(values, kept)

    return edit


def set_paused(paused: bool, note: str | None, now: datetime) -> Recompute:
    """Pause or resume. Resuming fires next at the first time after now: no catch-up."""

    def edit(row: ScheduleRow, skips: list[datetime]) -> ScheduleEdit:
        values: dict[str, Any] = {"paused": paused}
        if note is not None:
            values["state_note"] = note
        values["next_fire_at"] = model.next_fire_at({**row, **values}, skips, now)
        return ScheduleEdit(values)

    return edit


def _instant(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise errors.Unprocessable("scheduled_time must include timezone information.")
    return parse_utc(value)


def skip(value: datetime, now: datetime) -> Recompute:
    when = _instant(value)

    def edit(row: ScheduleRow, skips: list[datetime]) -> ScheduleEdit:
        if when <= now:
            raise errors.BadRequest("Cannot skip a past scheduled time")
        if when not in model.cadence_of(row).upcoming(now, set(skips)):
            raise errors.BadRequest("Cannot skip a time that is not an upcoming schedule action")
        new = {*skips, when}
        return ScheduleEdit({"next_fire_at": model.next_fire_at(row, new, now)}, new)

    return edit


def unskip(value: datetime, now: datetime) -> Recompute:
    when = _instant(value)

    def edit(row: ScheduleRow, skips: list[datetime]) -> ScheduleEdit:
        if when <= now:
            raise errors.BadRequest("Cannot unskip a past scheduled time")
        if when not in skips:
            raise errors.BadRequest("Cannot unskip a time that is not currently skipped")
        new = set(skips) - {when}
        return ScheduleEdit({"next_fire_at": model.next_fire_at(row, new, now)}, new)

    return edit
