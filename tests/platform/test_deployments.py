"""Deployments through the official client (agentex-client 0.28.4) against a live server.

Responses are validated strictly against the client's models: the wire is the client's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import agentex
import httpx
import pytest

from agentkeep.store import SqlStore
from tests.platform.kit import live_app, register

Live = tuple[agentex.AsyncAgentex, httpx.AsyncClient]


@pytest.fixture
async def live(db_url: str, store: SqlStore) -> AsyncIterator[Live]:
    async with live_app(db_url, store) as (url, http):
        client = agentex.AsyncAgentex(
            base_url=url, max_retries=0, timeout=30, _strict_response_validation=True
        )
        async with client:
            yield client, http


async def ready_deployment(http: httpx.AsyncClient, agent: dict[str, Any], url: str) -> str:
    """What a deployment's agent process does: register with its deployment id."""
    deployment_id = str(uuid.uuid4())
    await register(
        http,
        url,
        name=agent["name"],
        registration_metadata={"deployment_id": deployment_id, "docker_image": "img:2"},
    )
    return deployment_id


def message(exc: agentex.APIStatusError) -> Any:
    assert isinstance(exc.body, dict)
    return exc.body["message"]


async def test_create_promote_delete_round_trip(live: Live) -> None:
    client, http = live
    agent = await register(http, "http://127.0.0.1:9/own")
    created = await client.agents.deployments.create(
        agent["id"], docker_image="img:1", sgp_deploy_id="sgp-1", helm_release_name="rel-1"
    )
    assert (created.status, created.is_production, created.acp_url) == ("Pending", False, None)
    assert (created.sgp_deploy_id, created.helm_release_name) == ("sgp-1", "rel-1")
    with pytest.raises(agentex.BadRequestError) as refused:
        await client.agents.deployments.promote(created.id, agent_id=agent["id"])
    assert message(refused.value) == (
        "Cannot promote deployment with status Pending. Deployment must be in Ready status."
    )

    first = await ready_deployment(http, agent, "http://127.0.0.1:9/first")
    second = await ready_deployment(http, agent, "http://127.0.0.1:9/second")
    unchanged = await client.agents.retrieve(agent["id"])
    assert unchanged.production_deployment_id is None
    assert unchanged.updated_at.isoformat() == agent["updated_at"].replace("Z", "+00:00")

    promoted = await client.agents.deployments.promote(first, agent_id=agent["id"])
    assert promoted.is_production and promoted.promoted_at is not None
    assert promoted.acp_url == "http://127.0.0.1:9/first"
    assert (await client.agents.retrieve(agent["id"])).production_deployment_id == first
    with pytest.raises(agentex.BadRequestError) as refused:
        await client.agents.deployments.delete(first, agent_id=agent["id"])
    assert message(refused.value) == (
        "Cannot delete the current production deployment. Promote a different deployment first."
    )

    await client.agents.deployments.promote(second, agent_id=agent["id"])
    listed = await client.agents.deployments.list(agent["id"])
    assert {d.id: d.is_production for d in listed} == {
        created.id: False,
        first: False,
        second: True,
    }
    deleted = await client.agents.deployments.delete(first, agent_id=agent["id"])
    assert (deleted.id, deleted.message) == (first, f"Deployment '{first}' deleted successfully")
    assert first not in {d.id for d in await client.agents.deployments.list(agent["id"])}
    kept = await client.agents.deployments.retrieve(first, agent_id=agent["id"])
    assert kept.expires_at is not None
    with pytest.raises(agentex.NotFoundError):
        await client.agents.deployments.delete(first, agent_id=agent["id"])
    with pytest.raises(agentex.NotFoundError) as gone:
        await client.agents.deployments.promote(first, agent_id=agent["id"])
    assert message(gone.value) == f"Deployment {first} not found for agent {agent['id']}"


async def test_not_found_cases(live: Live) -> None:
    client, http = live
    agent = await register(http)
    other = await register(http)
    theirs = await client.agents.deployments.create(other["id"], docker_image="img")
    unknown = str(uuid.uuid4())
    cases = [
        (client.agents.deployments.retrieve(unknown, agent_id=agent["id"]),
         f"Item with id '{unknown}' does not exist."),
        (client.agents.deployments.retrieve(theirs.id, agent_id=agent["id"]),
         f"Deployment {theirs.id} not found for agent {agent['id']}"),
        (client.agents.deployments.promote(theirs.id, agent_id=agent["id"]),
         f"Deployment {theirs.id} not found for agent {agent['id']}"),
        (client.agents.deployments.list(unknown), f"Item with id '{unknown}' does not exist."),
        (client.agents.deployments.create(unknown, docker_image="x"),
         f"Item with id '{unknown}' does not exist."),
    ]  # fmt: skip
    for call, expected in cases:
        with pytest.raises(agentex.NotFoundError) as exc:
            await call
        assert message(exc.value) == expected
    await client.agents.delete(other["id"])
    with pytest.raises(agentex.NotFoundError) as exc:
        await client.agents.deployments.list(other["id"])
    assert message(exc.value) == f"Agent {other['id']} not found"
    with pytest.raises(agentex.BadRequestError) as bad:
        await client.agents.deployments.list(agent["id"], order_by="acp_url")
    assert "Cannot order deployments by 'acp_url'" in message(bad.value)


async def test_registration_with_deployment_id(live: Live) -> None:
    client, http = live
    agent = await register(http, "http://127.0.0.1:9/own")
    deployment_id = await ready_deployment(http, agent, "http://127.0.0.1:9/dep")
    row = await client.agents.deployments.retrieve(deployment_id, agent_id=agent["id"])
    assert (row.status, row.acp_url, row.docker_image, row.is_production) == (
        "Ready",
        "http://127.0.0.1:9/dep",
        "img:2",
        False,
    )
    other = await register(http)
    r = await http.post(
        "/agents/register",
        json={
            "name": other["name"],
            "acp_url": "http://127.0.0.1:9/x",
            "registration_metadata": {"deployment_id": deployment_id},
        },
    )
    assert r.status_code == 400
    assert r.json()["message"] == f"Deployment {deployment_id} belongs to another agent"
    # A new agent registered by a deployment's process: created as usual, deployment recorded.
    fresh = await register(
        http, "http://127.0.0.1:9/fresh", registration_metadata={"deployment_id": "dep-fresh"}
    )
    [recorded] = await client.agents.deployments.list(fresh["id"])
    assert (recorded.id, recorded.docker_image) == ("dep-fresh", "unknown")
    assert recorded.status == "Ready"


async def test_plain_registration_takes_production_back(live: Live) -> None:
    client, http = live
    agent = await register(http, "http://127.0.0.1:9/own")
    deployment_id = await ready_deployment(http, agent, "http://127.0.0.1:9/dep")
    await client.agents.deployments.promote(deployment_id, agent_id=agent["id"])
    again = await register(http, "http://127.0.0.1:9/own", name=agent["name"])
    assert again["production_deployment_id"] is None
    row = await client.agents.deployments.retrieve(deployment_id, agent_id=agent["id"])
    assert not row.is_production


async def test_build_only_agent_goes_live_on_promote(live: Live) -> None:
    client, http = live
    name = f"build-{uuid.uuid4().hex[:8]}"
    built = await client.agents.register_build(name=name, description="")
    assert built.status == "BuildOnly"
    deployment_id = await ready_deployment(http, {"name": name}, "http://127.0.0.1:9/b")
    await client.agents.deployments.promote(deployment_id, agent_id=built.id)
    agent = await client.agents.retrieve(built.id)
    assert (agent.status, agent.status_reason) == ("Ready", "Agent registered successfully.")
    assert agent.production_deployment_id == deployment_id
