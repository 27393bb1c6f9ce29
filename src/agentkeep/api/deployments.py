"""Deployments: ``/agents/{agent_id}/deployments`` (records, promote, delete).

The per-deployment RPC route lives with the other RPC routes (``rpc``): it is the same
JSON-RPC dispatch, dialing the deployment instead of the agent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field

from agentkeep import errors
from agentkeep.api import paging, responses, wire
from agentkeep.api import platform_wire as pw
from agentkeep.api.deps import PrincipalDep, StoreDep, agent_for, own_agent_only
from agentkeep.domain import models
from agentkeep.domain.limits import CheckedBody
from agentkeep.domain.paging import Page
from agentkeep.store import SqlStore
from agentkeep.store.deployments import (
    ORDER_FIELDS,
    DeploymentCreate,
    not_for_agent,
)
from agentkeep.store.rows import DeploymentRow

router = APIRouter(tags=["deployments"])
PREFIX = "/agents/{agent_id}/deployments"


class DeploymentCreateBody(CheckedBody):
    docker_image: str = Field(min_length=1)
    registration_metadata: dict[str, Any] | None = None
    sgp_deploy_id: str | None = None
    helm_release_name: str | None = None


async def owned_deployment(store: SqlStore, agent_id: str, deployment_id: str) -> DeploymentRow:
    """The agent's deployment, deleted ones included (as Agentex's GET)."""
    row = await store.get_deployment(deployment_id)
    if row is None:
        raise errors.NotFound.by_id(deployment_id)
    if row["agent_id"] != agent_id:
        raise not_for_agent(deployment_id, agent_id)
    return row


@router.post(PREFIX, response_model=pw.Deployment)
async def create_deployment(
    agent_id: str, body: DeploymentCreateBody, store: StoreDep, principal: PrincipalDep
) -> Response:
    await agent_for(store, principal, agent_id)
    row = await store.create_deployment(
        agent_id,
        DeploymentCreate(
            docker_image=body.docker_image,
            registration_metadata=body.registration_metadata,
            sgp_deploy_id=body.sgp_deploy_id,
            helm_release_name=body.helm_release_name,
        ),
    )
    return responses.json(models.deployment_wire(row))


@router.get(PREFIX, response_model=list[pw.Deployment])
async def list_deployments(
    agent_id: str,
    store: StoreDep,
    principal: PrincipalDep,
    page: Annotated[Page, paging.PageDep("deployments", ORDER_FIELDS)],
) -> Response:
    await agent_for(store, principal, agent_id)
    rows = await store.list_deployments(
        agent_id,
        limit=page.limit,
        page_number=page.page_number,
        order_by=page.order_by or "created_at",
        descending=page.descending,
    )
    return responses.json([models.deployment_wire(r) for r in rows])


@router.get(PREFIX + "/{deployment_id}", response_model=pw.Deployment)
async def get_deployment(
    agent_id: str, deployment_id: str, store: StoreDep, principal: PrincipalDep
) -> Response:
    await agent_for(store, principal, agent_id)
    row = await owned_deployment(store, agent_id, deployment_id)
    return responses.json(models.deployment_wire(row))


@router.post(PREFIX + "/{deployment_id}/promote", response_model=pw.Deployment)
async def promote_deployment(
    agent_id: str, deployment_id: str, store: StoreDep, principal: PrincipalDep
) -> Response:
    own_agent_only(principal, agent_id)
    # The agent's 404s are checked inside promote's transaction, under the agent's lock.
    row = await store.promote_deployment(agent_id, deployment_id)
    return responses.json(models.deployment_wire(row))


@router.delete(PREFIX + "/{deployment_id}", response_model=wire.Deleted)
async def delete_deployment(
    agent_id: str, deployment_id: str, store: StoreDep, principal: PrincipalDep
) -> Response:
    await agent_for(store, principal, agent_id)
    await store.delete_deployment(agent_id, deployment_id)
    return responses.json(
        {"id": deployment_id, "message": f"Deployment '{deployment_id}' deleted successfully"}
    )
