"""Agents: registration upsert and keys, register-build, list, get, soft delete."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from agentex.types import Agent as ClientAgent

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import running_app

BODY = {"name": "echo", "description": "d", "acp_url": "http://127.0.0.1:9", "acp_type": "sync"}


async def test_register_is_200_with_one_key(client: httpx.AsyncClient) -> None:
    first = await client.post("/agents/register", json=BODY)
    assert first.status_code == 200
    agent = first.json()
    ClientAgent.model_validate(agent)
    assert len(agent["agent_api_key"]) == 64 and int(agent["agent_api_key"], 16) >= 0
    assert (agent["status"], agent["status_reason"]) == ("Ready", "Agent registered successfully.")
    assert "acp_url" not in agent
    again = (
        await client.post(
            "/agents/register",
            json={**BODY, "description": "new", "registration_metadata": {"v": 2}},
        )
    ).json()
    assert again["id"] == agent["id"] and again["agent_api_key"] == agent["agent_api_key"]
    assert again["description"] == "new" and again["registration_metadata"] == {"v": 2}
    assert again["registered_at"] > agent["registered_at"]
    same = (await client.post("/agents/register", json={**BODY, "description": "new"})).json()
    assert same["registered_at"] == again["registered_at"]
    assert same["registration_metadata"] == {"v": 2}


async def test_register_by_id_renames_and_unknown_id_is_404(client: httpx.AsyncClient) -> None:
    agent = (await client.post("/agents/register", json=BODY)).json()
    renamed = (
        await client.post(
            "/agents/register", json={**BODY, "name": "echo-2", "agent_id": agent["id"]}
        )
    ).json()
    assert (renamed["id"], renamed["name"]) == (agent["id"], "echo-2")
    r = await client.post("/agents/register", json={**BODY, "agent_id": "nope"})
    assert r.status_code == 404


async def test_concurrent_registration_of_one_name_converges(
    db_url: str, settings: Settings
) -> None:
    # Several apps with their own pools stand in for several server processes.
    stores = [SqlStore(db_url) for _ in range(3)]
    try:
        async with (
            running_app(create_app(settings, store=stores[0])) as a,
            running_app(create_app(settings, store=stores[1])) as b,
            running_app(create_app(settings, store=stores[2])) as c,
        ):
            clients = [a, b, c] * 4
            results = await asyncio.gather(
                *(cl.post("/agents/register", json=BODY) for cl in clients)
            )
    finally:
        for s in stores:
            await s.close()
    assert {r.status_code for r in results} == {200}
    assert len({r.json()["id"] for r in results}) == 1
    assert len({r.json()["agent_api_key"] for r in results}) == 1


async def test_register_build_is_idempotent(client: httpx.AsyncClient) -> None:
    body = {"name": "builder", "description": "b"}
    first = (await client.post("/agents/register-build", json=body)).json()
    assert (first["status"], first["status_reason"]) == (
        "BuildOnly",
        "Agent build registered; not yet deployed.",
    )
    second = await client.post("/agents/register-build", json={**body, "description": "other"})
    assert second.status_code == 200 and second.json() == first
    rpc = await client.post(
        f"/agents/{first['id']}/rpc", json={"method": "task/create", "params": {}, "id": 1}
    )
    assert (
        rpc.json()["error"]["message"] == f"Agent {first['id']} does not have an ACP URL configured"
    )
    deployed = (await client.post("/agents/register", json={**BODY, "name": "builder"})).json()
    assert (deployed["id"], deployed["status"]) == (first["id"], "Ready")


async def test_list_get_delete(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    a, b = await agent_factory(), await agent_factory()
    task = await task_factory(a)
    assert {x["id"] for x in (await client.get("/agents")).json()} >= {a["id"], b["id"]}
    assert [
        x["id"] for x in (await client.get("/agents", params={"task_id": task["id"]})).json()
    ] == [a["id"]]
    assert (await client.get(f"/agents/name/{a['name']}")).json()["id"] == a["id"]
    r = await client.delete(f"/agents/name/{a['name']}")
    assert r.json() == {"id": a["id"], "message": f"Agent '{a['name']}' deleted successfully"}
    assert (await client.get(f"/agents/{a['id']}")).json()[
        "message"
    ] == f"Agent {a['id']} not found"
    assert (await client.delete(f"/agents/{a['id']}")).status_code == 404
    assert a["id"] not in {x["id"] for x in (await client.get("/agents")).json()}
    r = await client.delete(f"/agents/{b['id']}")
    assert r.json() == {"id": b["id"], "message": f"Agent '{b['id']}' deleted successfully"}
    assert (await client.get("/agents/nope")).json()[
        "message"
    ] == "Item with id 'nope' does not exist."


async def test_register_bad_input(client: httpx.AsyncClient) -> None:
    for body in (
        {**BODY, "name": "Bad Name"},
        {**BODY, "acp_type": "weird"},
        {**BODY, "agent_input_type": "xml"},
        {"name": "x"},
        {**BODY, "registration_metadata": "str"},
    ):
        r = await client.post("/agents/register", json=body)
        assert r.status_code == 422, body
        assert r.json()["code"] == 422 and r.json()["data"]["errors"]
    assert (await client.get("/agents")).json() == []
