"""Run schedules: ``/agents/{agent_id}/schedules…``, by id and by name (platform.md).

One endpoint function serves both paths of a route; ``ScheduleDep`` resolves the path's
id or name to the schedule (and its agent, which the caller must be able to manage).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request, Response

from agentkeep import errors
from agentkeep.access import Principal
from agentkeep.api import paging, responses, wire
from agentkeep.api import platform_wire as pw
from agentkeep.api.deps import PrincipalDep, StoreDep, agent_for, id_or_name, named
from agentkeep.schedules import edits, model
from agentkeep.store import SqlStore
from agentkeep.store.rows import AgentRow, ScheduleRow
from agentkeep.store.schedules import Recompute


async def _wake_scheduler(request: Request) -> AsyncIterator[None]:
    """After a write, this process's scheduler recomputes when to wake: a schedule due
    before its next poll (a new one, a resumed one, a manual trigger) is not late."""
    yield
    scheduler = getattr(request.app.state, "scheduler", None)
    if request.method != "GET" and scheduler is not None:
        scheduler.wake()


router = APIRouter(
    prefix="/agents/{agent_id}/schedules",
    tags=["schedules"],
    dependencies=[Depends(_wake_scheduler)],
)


def _missing(agent_id: str, ref: str) -> errors.NotFound:
    return errors.NotFound(f"Run schedule '{ref}' for agent '{agent_id}' does not exist.")


SchedulePathKey = Annotated[str, id_or_name("schedule_id")]


@dataclass(frozen=True, slots=True)
class ScheduleRef:
    """A schedule of an agent the caller may manage, as the path names it."""

    agent: AgentRow
    row: ScheduleRow
    #: The id or the name, as the path gave it (the answers quote it).
    key: str

    @property
    def id(self) -> str:
        return str(self.row["id"])


async def get_schedule_ref(
    request: Request, agent_id: str, key: SchedulePathKey, store: StoreDep, p: PrincipalDep
) -> ScheduleRef:
    agent = await agent_for(store, p, agent_id)
    if named(request):
        row = await store.find_schedule(agent_id, name=key)
    else:
        row = await store.find_schedule(agent_id, schedule_id=key)
    if row is None:
        raise _missing(agent_id, key)
    return ScheduleRef(agent, row, key)


ScheduleDep = Annotated[ScheduleRef, Depends(get_schedule_ref)]


async def _respond(
    store: SqlStore, agent: AgentRow, row: ScheduleRow, skips: list[datetime] | None
) -> Response:
    now = await store.now()
    if skips is None:
        skips = (await store.future_skips([row["id"]], now))[row["id"]]
    return responses.json(model.wire(row, skips, agent["acp_type"], now, live=True))


async def _edit(
    store: SqlStore, agent: AgentRow, schedule_id: str, recompute: Recompute, now: datetime
) -> Response:
    view = await store.edit_schedule(agent["id"], schedule_id, now, recompute)
    if view is None:  # deleted between the lookup and the write
        raise _missing(agent["id"], schedule_id)
    return await _respond(store, agent, view.row, view.skips)


def _creator(principal: Principal) -> dict[str, Any]:
    """Who creates the schedule: an API key by its name (never the key), or an agent."""
    cred = principal.credential
    api_name = cred.removeprefix("api-key:") if cred.startswith("api-key:") else None
    agent_id = principal.agent["id"] if principal.agent is not None else None
    return model.creator_principal(api_name=api_name, agent_id=agent_id)


@router.post("", response_model=pw.RunSchedule)
async def create_schedule(
    agent_id: str,
    body: edits.ScheduleCreate,
    store: StoreDep,
    principal: PrincipalDep,
) -> Response:
    agent = await agent_for(store, principal, agent_id)
    now = await store.now()
    row = await store.create_schedule(edits.new_schedule(body, agent_id, _creator(principal), now))
    return await _respond(store, agent, row, [])


@router.get("", response_model=pw.RunScheduleList)
async def list_schedules(
    agent_id: str,
    store: StoreDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    include_live: bool = False,
) -> Response:
    agent = await agent_for(store, principal, agent_id)
    rows = await store.list_schedules(agent_id, limit)
    now = await store.now()
    skips = await store.future_skips([r["id"] for r in rows], now) if include_live else {}
    items = [
        model.wire(r, skips.get(r["id"], []), agent["acp_type"], now, live=include_live)
        for r in rows
    ]
    return responses.json({"run_schedules": items, "total": len(items)})


# One schedule, by id or by name: each route serves both paths. Name routes are registered
# first (the inner decorator), so ``/name/{name}`` is never taken for an id.


@router.get("/{schedule_id}", response_model=pw.RunSchedule)
@router.get("/name/{name}", response_model=pw.RunSchedule, name="get_by_name")
async def get_schedule(s: ScheduleDep, store: StoreDep) -> Response:
    return await _respond(store, s.agent, s.row, None)


@router.patch("/{schedule_id}", response_model=pw.RunSchedule)
@router.patch("/name/{name}", response_model=pw.RunSchedule, name="update_by_name")
async def update_schedule(s: ScheduleDep, body: edits.ScheduleUpdate, store: StoreDep) -> Response:
    edits.check_update(body)
    now = await store.now()
    return await _edit(store, s.agent, s.id, edits.patch(body, now), now)


@router.post("/{schedule_id}/pause", response_model=pw.RunSchedule)
@router.post("/name/{name}/pause", response_model=pw.RunSchedule, name="pause_by_name")
async def pause(s: ScheduleDep, store: StoreDep, body: edits.StateNote | None = None) -> Response:
    return await _set_paused(store, s, True, body)


@router.post("/{schedule_id}/resume", response_model=pw.RunSchedule)
@router.post("/name/{name}/resume", response_model=pw.RunSchedule, name="resume_by_name")
async def resume(s: ScheduleDep, store: StoreDep, body: edits.StateNote | None = None) -> Response:
    return await _set_paused(store, s, False, body)


async def _set_paused(
    store: SqlStore, s: ScheduleRef, paused: bool, body: edits.StateNote | None
) -> Response:
    if s.row["paused"] == paused:
        return await _respond(store, s.agent, s.row, None)  # pausing a paused schedule: no-op
    now = await store.now()
    note = body.note if body is not None else None
    return await _edit(store, s.agent, s.id, edits.set_paused(paused, note, now), now)


@router.post("/{schedule_id}/trigger", response_model=pw.RunSchedule)
@router.post("/name/{name}/trigger", response_model=pw.RunSchedule, name="trigger_by_name")
async def trigger(s: ScheduleDep, store: StoreDep) -> Response:
    """Record a manual fire and return; this process's scheduler runs it at once (woken)."""
    now = await store.now()
    await store.insert_manual_fire(s.id, model.manual_fire_id(s.id, now), now)
    return await _respond(store, s.agent, s.row, None)


@router.post("/{schedule_id}/skip", response_model=pw.RunSchedule)
async def skip(s: ScheduleDep, body: edits.ScheduledTime, store: StoreDep) -> Response:
    now = await store.now()
    return await _edit(store, s.agent, s.id, edits.skip(body.scheduled_time, now), now)


@router.post("/{schedule_id}/unskip", response_model=pw.RunSchedule)
async def unskip(s: ScheduleDep, body: edits.ScheduledTime, store: StoreDep) -> Response:
    now = await store.now()
    return await _edit(store, s.agent, s.id, edits.unskip(body.scheduled_time, now), now)


@router.delete("/{schedule_id}", response_model=wire.Deleted)
@router.delete("/name/{name}", response_model=wire.Deleted, name="delete_by_name")
async def delete_schedule(s: ScheduleDep, store: StoreDep) -> Response:
    await _delete(store, s.agent["id"], s.id, s.key)
    return responses.json({"id": s.id, "message": f"Run schedule '{s.key}' deleted successfully"})


async def _delete(store: SqlStore, agent_id: str, schedule_id: str, ref: str) -> None:
    if not await store.delete_schedule(agent_id, schedule_id, await store.now()):
        raise _missing(agent_id, ref)


@router.get("/{schedule_id}/fires", response_model=list[pw.ScheduleFire])
async def list_fires(
    s: ScheduleDep,
    store: StoreDep,
    limit: paging.Limit = 0,
    page_number: paging.PageNumber = 1,
) -> Response:
    """[ext] The schedule's fire history, newest first."""
    size = paging.limit_or_default(limit)
    rows = await store.list_fires(s.id, size, (page_number - 1) * size)
    return responses.json([{k: r[k] for k in FIRE_FIELDS} for r in rows])


FIRE_FIELDS: Final = (
    "id",
    "schedule_id",
    "fire_id",
    "trigger_type",
    "nominal_time",
    "status",
    "reason",
    "task_id",
    "attempts",
    "created_at",
    "started_at",
    "finished_at",
)
