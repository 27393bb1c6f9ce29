"""Agents are dialed at their deployments: the per-deployment RPC route (the client's
``preview_rpc``), and RPC and cancel notices after a promote. Real agents on loopback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import agentex
import httpx
import pytest

from agentkeep.store import SqlStore
from tests.acp_kit import RawAgent, http_response, rpc_ok, send
from tests.platform.kit import OPS, OPS_KEY, envelope, live_app, register

Live = tuple[agentex.AsyncAgentex, httpx.AsyncClient]


@pytest.fixture
async def live(db_url: str, store: SqlStore) -> AsyncIterator[Live]:
    async with live_app(db_url, store) as (url, http):
        client = agentex.AsyncAgentex(base_url=url, max_retries=0, timeout=30)
        async with client:
            yield client, http


class Agent(RawAgent):
    """An agent that answers every call and signals each method it receives."""

    def __init__(self) -> None:
        super().__init__(self._answer)
        self.received: dict[str, asyncio.Event] = {}

    async def _answer(self, request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        self.received.setdefault(request["method"], asyncio.Event()).set()
        await send(writer, http_response(rpc_ok(request, {"status": "ok"})))

    async def got(self, method: str) -> None:
        await asyncio.wait_for(self.received.setdefault(method, asyncio.Event()).wait(), 30)

    def methods(self) -> list[str]:
        return [c["method"] for c in self.calls]


async def deploy(http: httpx.AsyncClient, agent: dict[str, Any], url: str) -> str:
    deployment_id = str(uuid.uuid4())
    await register(
        http, url, name=agent["name"], registration_metadata={"deployment_id": deployment_id}
    )
    return deployment_id


async def test_preview_rpc_dials_the_deployment(live: Live) -> None:
    client, http = live
    async with Agent() as own, Agent() as preview:
        agent = await register(http, own.url)
        deployment_id = await deploy(http, agent, preview.url)
        answer = await client.agents.deployments.preview_rpc(
            deployment_id, agent_id=agent["id"], method="task/create", params={"name": "pv"}
        )
    assert answer.error is None and answer.result is not None
    assert (preview.methods(), own.methods()) == (["task/create"], [])
    # An ordinary task of the agent.
    linked = await http.get("/tasks", params={"agent_id": agent["id"]})
    assert [t["name"] for t in linked.json()] == ["pv"]


async def test_preview_rpc_refusals(live: Live) -> None:
    client, http = live
    agent = await register(http)
    other = await register(http)
    pending = await client.agents.deployments.create(agent["id"], docker_image="img")
    theirs = await deploy(http, other, "http://127.0.0.1:9/theirs")
    gone = await deploy(http, agent, "http://127.0.0.1:9/gone")
    await client.agents.deployments.delete(gone, agent_id=agent["id"])
    unknown = str(uuid.uuid4())
    body = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}
    cases = [
        (pending.id, 400, f"Deployment {pending.id} does not have an ACP URL configured"),
        (gone, 404, f"Deployment {gone} not found for agent {agent['id']}"),
        (theirs, 404, f"Deployment {theirs} not found for agent {agent['id']}"),
        (unknown, 404, f"Item with id '{unknown}' does not exist."),
    ]
    for deployment_id, status, message in cases:
        r = await http.post(f"/agents/{agent['id']}/deployments/{deployment_id}/rpc", json=body)
        assert r.json() == envelope(message, status), deployment_id
    assert (await http.get("/tasks", params={"agent_id": agent["id"]})).json() == []


async def test_rpc_and_cancels_dial_the_production_deployment(live: Live) -> None:
    client, http = live
    async with Agent() as own, Agent() as production:
        agent = await register(http, own.url)
        deployment_id = await deploy(http, agent, production.url)
        await client.agents.deployments.promote(deployment_id, agent_id=agent["id"])
        created = await client.agents.create_task(agent_name=agent["name"], params={})
        assert created.result is not None
        await http.post(f"/tasks/{created.result.id}/cancel", json={"reason": "stop"})
        await production.got("task/cancel")
    assert production.methods() == ["task/create", "task/cancel"]
    assert own.methods() == []


async def test_external_keys_drive_their_own_agent_only(db_url: str, store: SqlStore) -> None:
    async with (
        live_app(db_url, store, api_keys=f"ops:{OPS_KEY}") as (_, http),
        Agent() as target,
    ):
        mine = await register(http, target.url, headers=OPS)
        other = await register(http, target.url, headers=OPS)
        made = await http.post(
            "/agent_api_keys", json={"agent_id": mine["id"], "name": "ext"}, headers=OPS
        )
        body = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}
        for key, agent, ok in [
            (made.json()["api_key"], mine, True),
            (made.json()["api_key"], other, False),
            # The internal (registration) key keeps agent-to-agent calls.
            (mine["agent_api_key"], other, True),
        ]:
            headers = {"x-agent-api-key": key}
            by_id = await http.post(f"/agents/{agent['id']}/rpc", json=body, headers=headers)
            by_name = await http.post(
                f"/agents/name/{agent['name']}/rpc", json=body, headers=headers
            )
            if ok:
                assert by_id.json()["error"] is None and by_name.json()["error"] is None
            else:
                assert by_id.json() == envelope(
                    f"Item with id '{agent['id']}' does not exist.", 404
                )
                assert by_name.json() == envelope(
                    f"Item with name '{agent['name']}' does not exist.", 404
                )
