"""Agents: register (upsert, HTTP 200), register-build, list, get, soft delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from agentkeep import errors
from agentkeep.api import responses
from agentkeep.api.deps import PrincipalDep, SettingsDep, StoreDep, agent_for_key, store_of
from agentkeep.api.schemas import AgentRegister, AgentRegisterBuild
from agentkeep.domain import models
from agentkeep.store import SqlStore
from agentkeep.store.agents import Registration

router = APIRouter(tags=["agents"])

AGENT_ORDER_FIELDS = frozenset(
    {"created_at", "updated_at", "name", "status", "registered_at", "id"}
)


async def live_agent(store: SqlStore, agent_id: str) -> dict[str, Any]:
    row = await store.get_agent(agent_id)
    if row is None:
        raise errors.NotFound.by_id(agent_id)
    if row["status"] == "Deleted":
        raise errors.NotFound(f"Agent {agent_id} not found")
    return row


async def live_agent_by_name(store: SqlStore, name: str) -> dict[str, Any]:
    row = await store.get_agent_by_name(name)
    if row is None:
        raise errors.NotFound.by_name(name)
    if row["status"] == "Deleted":
        raise errors.NotFound(f"Agent {name} not found")
    return row


async def _may_register(request: Request, settings: SettingsDep, body: AgentRegister) -> None:
    """With API keys configured, registration needs one, or this agent's own key.

    agentex-sdk can only send ``x-agent-api-key``, so an API key is accepted there too.
    Without API keys the header is ignored: the SDK sends its possibly stale key.
    """
    keys = settings.api_key_map
    if not keys:
        return
    presented = {
        request.headers.get("x-api-key"),
        request.headers.get("x-agent-api-key"),
        request.cookies.get("agentkeep_api_key"),
    }
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        presented.add(auth[7:].strip())
    if presented & keys.keys():
        return
    agent_key = request.headers.get("x-agent-api-key")
    if agent_key:
        found = await agent_for_key(store_of(request), agent_key)
        owner = found[0] if found else None
        # The key re-registers its own agent only: named by id, or by its current name.
        if owner is not None and (
            owner["id"] == body.agent_id
            if body.agent_id is not None
            else owner["name"] == body.name
        ):
            return
    raise errors.Unauthorized()


@router.post("/agents/register")
async def register_agent(
    body: AgentRegister, request: Request, store: StoreDep, settings: SettingsDep
) -> Response:
    await _may_register(request, settings, body)
    row, key = await store.register_agent(
        Registration(
            name=body.name,
            description=body.description,
            acp_url=body.acp_url,
            acp_type=body.acp_type,
            agent_id=body.agent_id,
            registration_metadata=body.registration_metadata,
            agent_input_type=body.agent_input_type,
        )
    )
    return responses.json({**models.agent_wire(row), "agent_api_key": key})


@router.post("/agents/register-build")
async def register_build(body: AgentRegisterBuild, store: StoreDep, _p: PrincipalDep) -> Response:
    row = await store.register_build(
        name=body.name,
        description=body.description,
        registration_metadata=body.registration_metadata,
        agent_input_type=body.agent_input_type,
    )
    return responses.json(models.agent_wire(row))


@router.get("/agents")
async def list_agents(
    store: StoreDep,
    _p: PrincipalDep,
    task_id: str | None = None,
    limit: Annotated[int, Query(ge=0, le=1000)] = 50,
    page_number: Annotated[int, Query(ge=1)] = 1,
    order_by: str | None = None,
    order_direction: str = "desc",
) -> Response:
    if order_by is not None and order_by not in AGENT_ORDER_FIELDS:
        raise errors.BadRequest(
            f"Cannot order agents by {order_by!r}; "
            f"use one of {', '.join(sorted(AGENT_ORDER_FIELDS))}."
        )
    rows = await store.list_agents(
        task_id=task_id,
        limit=limit or 50,
        page_number=page_number,
        order_by=order_by,
        descending=order_direction.lower() == "desc",
    )
    return responses.json([models.agent_wire(r) for r in rows])


@router.get("/agents/name/{name}")
async def get_agent_by_name(name: str, store: StoreDep, _p: PrincipalDep) -> Response:
    return responses.json(models.agent_wire(await live_agent_by_name(store, name)))


@router.get("/agents/{agent_id}")
async def get_agent(agent_id: str, store: StoreDep, _p: PrincipalDep) -> Response:
    return responses.json(models.agent_wire(await live_agent(store, agent_id)))


@router.delete("/agents/name/{name}")
async def delete_agent_by_name(name: str, store: StoreDep, _p: PrincipalDep) -> Response:
    row = await live_agent_by_name(store, name)
    if not await store.delete_agent(row["id"]):
        raise errors.NotFound(f"Agent {name} not found")
    return responses.json({"id": row["id"], "message": f"Agent '{name}' deleted successfully"})


@router.delete("/agents/{agent_id}")
async def delete_agent(agent_id: str, store: StoreDep, _p: PrincipalDep) -> Response:
    await live_agent(store, agent_id)
    if not await store.delete_agent(agent_id):
        raise errors.NotFound(f"Agent {agent_id} not found")
    return responses.json({"id": agent_id, "message": f"Agent '{agent_id}' deleted successfully"})
