"""[ext] ``POST /agents/{id}/rotate-key`` and ``/agents/name/{name}/rotate-key``.

Registration returns an agent's current key (agentex-sdk registers on every start and
adopts whatever ``agent_api_key`` says, so every replica converges on one key). Rotation is
the explicit way to replace it: the old key fails from the next request on, in every
process, and the answer is the only place the new key is shown. The agent's processes
then register again (with an API key) to learn it.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from agentkeep.access import Principal
from agentkeep.api import responses, wire
from agentkeep.api.deps import PrincipalDep, StoreDep, require_operator
from agentkeep.domain import live, models
from agentkeep.store import SqlStore
from agentkeep.store.rows import AgentRow

router = APIRouter(tags=["agents"])


async def _rotate(store: SqlStore, principal: Principal, agent: AgentRow) -> Response:
    # An agent may rotate its own key (it suspects a leak); only API keys rotate others'.
    require_operator(principal, "rotate other agents' keys", own_agent_id=agent["id"])
    key = await store.rotate_key(agent["id"])
    return responses.json({**models.agent_wire(agent), "agent_api_key": key})


@router.post("/agents/name/{name}/rotate-key", response_model=wire.RegisteredAgent)
async def rotate_key_by_name(name: str, store: StoreDep, principal: PrincipalDep) -> Response:
    return await _rotate(
        store, principal, live.agent(await store.get_agent_by_name(name), name, by_name=True)
    )


@router.post("/agents/{agent_id}/rotate-key", response_model=wire.RegisteredAgent)
async def rotate_key(agent_id: str, store: StoreDep, principal: PrincipalDep) -> Response:
    return await _rotate(store, principal, live.agent(await store.get_agent(agent_id), agent_id))
