"""Agent API keys: ``/agent_api_keys`` (create, list, get, delete; by id and by name).

Values are shown once, by create (and the webhook trigger). Agent keys may read their own
agent's keys but never mint or revoke one ([fix]: in Agentex any agent credential can
mint and revoke credentials, so one leaked key could entrench itself).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from agentkeep import errors
from agentkeep.access import Principal
from agentkeep.api import paging, responses
from agentkeep.api import platform_wire as pw
from agentkeep.api.deps import PrincipalDep, StoreDep, agent_ref
from agentkeep.domain import models
from agentkeep.domain.limits import CheckedBody
from agentkeep.store import SqlStore
from agentkeep.store.agent_api_keys import new_key_value
from agentkeep.store.rows import AgentApiKeyRow

router = APIRouter(tags=["agent_api_keys"])

KeyType = Literal["internal", "external", "github", "slack"]
NOT_FOUND = "Agent api_key not found."


class AgentApiKeyCreate(CheckedBody):
    agent_id: str | None = None
    agent_name: str | None = None
    name: str = Field(min_length=1, max_length=255)
    api_key_type: KeyType = "external"
    api_key: str | None = Field(None, min_length=1, max_length=4096)


def refuse_agent_keys(principal: Principal) -> None:
    if principal.scoped:
        raise errors.Forbidden("Agent keys cannot manage agent API keys")


def _in_reach(principal: Principal, agent_id: str) -> bool:
    return principal.confined_to in (None, agent_id)


@router.post("/agent_api_keys", response_model=pw.CreatedAgentApiKey)
async def create_key(body: AgentApiKeyCreate, store: StoreDep, principal: PrincipalDep) -> Response:
    refuse_agent_keys(principal)
    agent = await agent_ref(store, body.agent_id, body.agent_name, "create an agent api_key")
    if body.api_key_type == "internal":
        # [fix] Two internal keys would make registration's answer ambiguous.
        raise errors.BadRequest("Internal agent API keys are minted by registration.")
    value = body.api_key or new_key_value()
    row = await store.create_agent_api_key(agent["id"], body.name, body.api_key_type, value)
    if row is None:
        # [fix] Agentex answers 409 (which agentex-client retries) naming the enum's class.
        raise errors.BadRequest(
            f"{body.api_key_type} agent API key '{body.name}' already exists for agent ID "
            f"{agent['id']}."
        )
    return responses.json({**models.agent_api_key_wire(row), "api_key": value})


@router.get("/agent_api_keys", response_model=list[pw.AgentApiKey])
async def list_keys(
    store: StoreDep,
    principal: PrincipalDep,
    agent_id: str | None = None,
    agent_name: str | None = None,
    limit: paging.Limit = paging.DEFAULT_LIMIT,
    page_number: paging.PageNumber = 1,
) -> Response:
    if agent_id is not None and not _in_reach(principal, agent_id):
        raise errors.NotFound.by_id(agent_id)
    agent = await agent_ref(store, agent_id, agent_name, "list agent api_keys")
    if not _in_reach(principal, agent["id"]):
        raise errors.NotFound.by_name(agent["name"])
    rows = await store.list_agent_api_keys(
        agent["id"], limit=paging.limit_or_default(limit), page_number=page_number
    )
    return responses.json([models.agent_api_key_wire(r) for r in rows])


async def _by_name(
    store: SqlStore,
    principal: Principal,
    name: str,
    ref: tuple[str | None, str | None, str],
    api_key_type: str,
) -> AgentApiKeyRow:
    agent = await agent_ref(store, *ref)
    row = await store.get_agent_api_key_by_name(agent["id"], name, api_key_type)
    if row is None or not _in_reach(principal, agent["id"]):
        raise errors.NotFound(NOT_FOUND)
    return row


# ``:path``: github keys are named after repositories, ``owner/name``.
@router.get("/agent_api_keys/name/{name:path}", response_model=pw.AgentApiKey)
async def get_key_by_name(
    name: str,
    store: StoreDep,
    principal: PrincipalDep,
    agent_id: str | None = None,
    agent_name: str | None = None,
    api_key_type: Annotated[KeyType, Query()] = "external",
) -> Response:
    ref = (agent_id, agent_name, "get an agent api_key")
    row = await _by_name(store, principal, name, ref, api_key_type)
    return responses.json(models.agent_api_key_wire(row))


@router.delete("/agent_api_keys/name/{api_key_name:path}", response_model=str)
async def delete_key_by_name(
    api_key_name: str,
    store: StoreDep,
    principal: PrincipalDep,
    agent_id: str | None = None,
    agent_name: str | None = None,
    api_key_type: Annotated[KeyType, Query()] = "external",
) -> Response:
    refuse_agent_keys(principal)
    ref = (agent_id, agent_name, "delete an agent api_key")
    row = await _by_name(store, principal, api_key_name, ref, api_key_type)
    if not await store.delete_agent_api_key(row["id"]):
        raise errors.NotFound(NOT_FOUND)
    return responses.json(f"Agent api_key '{api_key_name}' deleted")


@router.get("/agent_api_keys/{key_id}", response_model=pw.AgentApiKey)
async def get_key(key_id: str, store: StoreDep, principal: PrincipalDep) -> Response:
    row = await store.get_agent_api_key(key_id)
    if row is None or not _in_reach(principal, row["agent_id"]):
        raise errors.NotFound.by_id(key_id)
    return responses.json(models.agent_api_key_wire(row))


@router.delete("/agent_api_keys/{key_id}", response_model=str)
async def delete_key(key_id: str, store: StoreDep, principal: PrincipalDep) -> Response:
    refuse_agent_keys(principal)
    # [fix] Agentex answers 200 for any id; an unknown one is 404 here.
    if not await store.delete_agent_api_key(key_id):
        raise errors.NotFound.by_id(key_id)
    return responses.json(f"Agent API key with ID {key_id} deleted")
