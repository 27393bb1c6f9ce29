"""Run schedules: ``/agents/{agent_id}/schedules…``, by id and by name (platform.md).

``/name/{name}`` routes are registered before ``/{schedule_id}`` ones, so a name is never
taken for an id; each resolves the name to the id and then acts on the id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from agentkeep import errors
from agentkeep.access import Principal
from agentkeep.api import paging, responses, wire
from agentkeep.api import platform_wire as pw
from agentkeep.api.deps import PrincipalDep, StoreDep, agent_for
from agentkeep.schedules import edits, model
from agentkeep.store import SqlStore


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


async def _schedule_id(
    store: SqlStore, agent_id: str, schedule_id: str | None, name: str | None
) -> str:
    row = await store.find_schedule(agent_id, schedule_id=schedule_id, name=name)
    if row is None:
        raise _missing(agent_id, schedule_id or name or "")
    return str(row["id"])


async def _respond(
    store: SqlStore, agent: dict[str, Any], row: dict[str, Any], skips: list[datetime] | None
) -> Response:
    now = await store.now()
    if skips is None:
        skips = (await store.future_skips([row["id"]], now))[row["id"]]
    return responses.json(model.wire(row, skips, agent["acp_type"], now, live=True))


async def _edit(
    store: SqlStore, agent: dict[str, Any], schedule_id: str, recompute: Any, now: datetime
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


# ------------------------------------------------------------------ one schedule, by name


@router.get("/name/{name}", response_model=pw.RunSchedule)
async def get_by_name(agent_id: str, name: str, store: StoreDep, p: PrincipalDep) -> Response:
    return await get_schedule(agent_id, await _id_by_name(store, p, agent_id, name), store, p)


@router.patch("/name/{name}", response_model=pw.RunSchedule)
async def update_by_name(
    agent_id: str, name: str, body: edits.ScheduleUpdate, store: StoreDep, p: PrincipalDep
) -> Response:
    sid = await _id_by_name(store, p, agent_id, name)
    return await update_schedule(agent_id, sid, body, store, p)


@router.post("/name/{name}/pause", response_model=pw.RunSchedule)
async def pause_by_name(
    agent_id: str, name: str, store: StoreDep, p: PrincipalDep, body: edits.StateNote | None = None
) -> Response:
    return await pause(agent_id, await _id_by_name(store, p, agent_id, name), store, p, body)


@router.post("/name/{name}/resume", response_model=pw.RunSchedule)
async def resume_by_name(
    agent_id: str, name: str, store: StoreDep, p: PrincipalDep, body: edits.StateNote | None = None
) -> Response:
    return await resume(agent_id, await _id_by_name(store, p, agent_id, name), store, p, body)


@router.post("/name/{name}/trigger", response_model=pw.RunSchedule)
async def trigger_by_name(agent_id: str, name: str, store: StoreDep, p: PrincipalDep) -> Response:
    return await trigger(agent_id, await _id_by_name(store, p, agent_id, name), store, p)


@router.delete("/name/{name}", response_model=wire.Deleted)
async def delete_by_name(agent_id: str, name: str, store: StoreDep, p: PrincipalDep) -> Response:
    sid = await _id_by_name(store, p, agent_id, name)
    await _delete(store, agent_id, sid, name)
    return responses.json({"id": sid, "message": f"Run schedule '{name}' deleted successfully"})


async def _id_by_name(store: SqlStore, p: Principal, agent_id: str, name: str) -> str:
    await agent_for(store, p, agent_id)
    return await _schedule_id(store, agent_id, None, name)


# ------------------------------------------------------------------ one schedule, by id


@router.get("/{schedule_id}", response_model=pw.RunSchedule)
async def get_schedule(
    agent_id: str, schedule_id: str, store: StoreDep, p: PrincipalDep
) -> Response:
    agent = await agent_for(store, p, agent_id)
    row = await store.find_schedule(agent_id, schedule_id=schedule_id)
    if row is None:
        raise _missing(agent_id, schedule_id)
    return await _respond(store, agent, row, None)


@router.patch("/{schedule_id}", response_model=pw.RunSchedule)
async def update_schedule(
    agent_id: str, schedule_id: str, body: edits.ScheduleUpdate, store: StoreDep, p: PrincipalDep
) -> Response:
    agent = await agent_for(store, p, agent_id)
    edits.check_update(body)
    await _schedule_id(store, agent_id, schedule_id, None)
    now = await store.now()
    return await _edit(store, agent, schedule_id, edits.patch(body, now), now)


@router.post("/{schedule_id}/pause", response_model=pw.RunSchedule)
async def pause(
    agent_id: str,
    schedule_id: str,
    store: StoreDep,
    p: PrincipalDep,
    body: edits.StateNote | None = None,
) -> Response:
    return await _set_paused(store, p, agent_id, schedule_id, True, body)


@router.post("/{schedule_id}/resume", response_model=pw.RunSchedule)
async def resume(
    agent_id: str,
    schedule_id: str,
    store: StoreDep,
    p: PrincipalDep,
    body: edits.StateNote | None = None,
) -> Response:
    return await _set_paused(store, p, agent_id, schedule_id, False, body)


async def _set_paused(
    store: SqlStore,
    p: Principal,
    agent_id: str,
    schedule_id: str,
    paused: bool,
    body: edits.StateNote | None,
) -> Response:
    agent = await agent_for(store, p, agent_id)
    row = await store.find_schedule(agent_id, schedule_id=schedule_id)
    if row is None:
        raise _missing(agent_id, schedule_id)
    if row["paused"] == paused:
        return await _respond(store, agent, row, None)  # pausing a paused schedule: no-op
    now = await store.now()
    note = body.note if body is not None else None
    return await _edit(store, agent, schedule_id, edits.set_paused(paused, note, now), now)


@router.post("/{schedule_id}/trigger", response_model=pw.RunSchedule)
async def trigger(agent_id: str, schedule_id: str, store: StoreDep, p: PrincipalDep) -> Response:
    """Record a manual fire and return; this process's scheduler runs it at once (woken)."""
    agent = await agent_for(store, p, agent_id)
    row = await store.find_schedule(agent_id, schedule_id=schedule_id)
    if row is None:
        raise _missing(agent_id, schedule_id)
    now = await store.now()
    await store.insert_manual_fire(schedule_id, model.manual_fire_id(schedule_id, now), now)
    return await _respond(store, agent, row, None)


@router.post("/{schedule_id}/skip", response_model=pw.RunSchedule)
async def skip(
    agent_id: str, schedule_id: str, body: edits.ScheduledTime, store: StoreDep, p: PrincipalDep
) -> Response:
    agent = await agent_for(store, p, agent_id)
    await _schedule_id(store, agent_id, schedule_id, None)
    now = await store.now()
    return await _edit(store, agent, schedule_id, edits.skip(body.scheduled_time, now), now)


@router.post("/{schedule_id}/unskip", response_model=pw.RunSchedule)
async def unskip(
    agent_id: str, schedule_id: str, body: edits.ScheduledTime, store: StoreDep, p: PrincipalDep
) -> Response:
    agent = await agent_for(store, p, agent_id)
    await _schedule_id(store, agent_id, schedule_id, None)
    now = await store.now()
    return await _edit(store, agent, schedule_id, edits.unskip(body.scheduled_time, now), now)


@router.delete("/{schedule_id}", response_model=wire.Deleted)
async def delete_schedule(
    agent_id: str, schedule_id: str, store: StoreDep, p: PrincipalDep
) -> Response:
    await agent_for(store, p, agent_id)
    await _delete(store, agent_id, schedule_id, schedule_id)
    message = f"Run schedule '{schedule_id}' deleted successfully"
    return responses.json({"id": schedule_id, "message": message})


async def _delete(store: SqlStore, agent_id: str, schedule_id: str, ref: str) -> None:
    if not await store.delete_schedule(agent_id, schedule_id, await store.now()):
        raise _missing(agent_id, ref)


@router.get("/{schedule_id}/fires", response_model=list[pw.ScheduleFire])
async def list_fires(
    agent_id: str,
    schedule_id: str,
    store: StoreDep,
    p: PrincipalDep,
    limit: paging.Limit = 0,
    page_number: paging.PageNumber = 1,
) -> Response:
    """[ext] The schedule's fire history, newest first."""
    await agent_for(store, p, agent_id)
    await _schedule_id(store, agent_id, schedule_id, None)
    size = paging.limit_or_default(limit)
    rows = await store.list_fires(schedule_id, size, (page_number - 1) * size)
    return responses.json([{k: r[k] for k in FIRE_FIELDS} for r in rows])


FIRE_FIELDS = (
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
