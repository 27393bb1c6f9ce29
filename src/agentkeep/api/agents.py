"""Agents: register (upsert, HTTP 200), register-build, list, get, soft delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from agentkeep import errors
from agentkeep.api import responses, wire
from agentkeep.api.deps import (
    PrincipalDep,
    SettingsDep,
    StoreDep,
    agent_for_key,
    api_key_of,
    require_operator,
    store_of,
)
from agentkeep.api.paging import PageDep
from agentkeep.api.schemas import AgentRegister, AgentRegisterBuild
from agentkeep.domain import live, models
from agentkeep.domain.paging import Page
from agentkeep.store.agents import AGENT_ORDER_FIELDS, AgentQuery, Registration

router = APIRouter(tags=["agents"])


async def _may_register(request: Request, settings: SettingsDep, body: AgentRegister) -> None:
    """With API keys configured, registration needs one, or this agent's own key.

    agentex-sdk can only send ``x-agent-api-key``, so an API key is accepted there too.
    Without API keys the header is ignored: the SDK sends its possibly stale key.
    """
    api_keys = settings.api_key_set
    if not api_keys:
        return
    agent_key = request.headers.get("x-agent-api-key")
    if api_keys.name_of(api_key_of(request)) or api_keys.name_of(agent_key):
        return
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


@router.post("/agents/register", response_model=wire.RegisteredAgent)
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


@router.post("/agents/register-build", response_model=wire.Agent)
async def register_build(
    body: AgentRegisterBuild, store: StoreDep, principal: PrincipalDep
) -> Response:
    require_operator(principal, "register agent builds")
    row = await store.register_build(
        name=body.name,
        description=body.description,
        registration_metadata=body.registration_metadata,
        agent_input_type=body.agent_input_type,
    )
    return responses.json(models.agent_wire(row))


# Reads: any credential, agent keys included. Agents discover each other here for
# agent-to-agent RPC; the wire shape never carries keys or ACP URLs.
@router.get("/agents", response_model=list[wire.Agent])
async def list_agents(
    store: StoreDep,
    _p: PrincipalDep,
    page: Annotated[Page, PageDep("agents", AGENT_ORDER_FIELDS)],
    task_id: str | None = None,
) -> Response:
    rows = await store.list_agents(AgentQuery(task_id=task_id), page)
    return responses.json([models.agent_wire(r) for r in rows])


@router.get("/agents/name/{name}", response_model=wire.Agent)
async def get_agent_by_name(name: str, store: StoreDep, _p: PrincipalDep) -> Response:
    return responses.json(
        models.agent_wire(live.agent(await store.get_agent_by_name(name), name, by_name=True))
    )


@router.get("/agents/{agent_id}", response_model=wire.Agent)
async def get_agent(agent_id: str, store: StoreDep, _p: PrincipalDep) -> Response:
    return responses.json(models.agent_wire(live.agent(await store.get_agent(agent_id), agent_id)))


@router.delete("/agents/name/{name}", response_model=wire.Deleted)
async def delete_agent_by_name(name: str, store: StoreDep, principal: PrincipalDep) -> Response:
    row = live.agent(await store.get_agent_by_name(name), name, by_name=True)
    require_operator(principal, "delete other agents", own_agent_id=row["id"])
    if not await store.delete_agent(row["id"]):
        raise live.agent_deleted(name)
    return responses.json({"id": row["id"], "message": f"Agent '{name}' deleted successfully"})


@router.delete("/agents/{agent_id}", response_model=wire.Deleted)
async def delete_agent(agent_id: str, store: StoreDep, principal: PrincipalDep) -> Response:
    live.agent(await store.get_agent(agent_id), agent_id)
    require_operator(principal, "delete other agents", own_agent_id=agent_id)
    if not await store.delete_agent(agent_id):
        raise live.agent_deleted(agent_id)
    return responses.json({"id": agent_id, "message": f"Agent '{agent_id}' deleted successfully"})
