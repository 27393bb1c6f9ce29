"""Deployment history: ``GET /deployment-history`` and ``/deployment-history/{id}``.

Records are written by registrations (``store.registrations``); these routes only read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from agentkeep import errors
from agentkeep.api import paging, responses
from agentkeep.api import platform_wire as pw
from agentkeep.api.deps import PrincipalDep, StoreDep, agent_ref
from agentkeep.domain import live, models
from agentkeep.domain.paging import Page
from agentkeep.store.deployments import HISTORY_ORDER_FIELDS

router = APIRouter(tags=["deployment-history"])
VERB = "list deployment history"


@router.get("/deployment-history", response_model=list[pw.DeploymentHistory])
async def list_history(
    store: StoreDep,
    principal: PrincipalDep,
    page: Annotated[Page, paging.PageDep("deployment history", HISTORY_ORDER_FIELDS)],
    agent_id: str | None = None,
    agent_name: str | None = None,
) -> Response:
    # Deleted agents keep their history.
    agent = await agent_ref(store, agent_id, agent_name, VERB, deleted_too=True)
    if principal.confined_to not in (None, agent["id"]):
        # Another agent's history answers like an unknown agent's.
        raise live.missing(agent_id) if agent_id else live.missing(agent["name"], by_name=True)
    rows = await store.list_deployment_history(
        agent["id"],
        limit=page.limit,
        page_number=page.page_number,
        order_by=page.order_by or "deployment_timestamp",
        descending=page.descending,
    )
    return responses.json([models.deployment_history_wire(r) for r in rows])


@router.get("/deployment-history/{record_id}", response_model=pw.DeploymentHistory)
async def get_history(record_id: str, store: StoreDep, principal: PrincipalDep) -> Response:
    row = await store.get_deployment_history(record_id)
    if row is None or principal.confined_to not in (None, row["agent_id"]):
        raise errors.NotFound(f"Deployment not found: Item with id '{record_id}' does not exist.")
    return responses.json(models.deployment_history_wire(row))
