"""The JSON-RPC envelope and ``task/create``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


def rpc(method: str, params: Any, rpc_id: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rpc_id, "method": method, "params": params}


async def test_create_get_or_create_by_name(client: httpx.AsyncClient, agent_factory: Any) -> None:
    agent = await agent_factory()
    url = f"/agents/{agent['id']}/rpc"
    first = (
        await client.post(
            url,
            json=rpc(
                "task/create", {"name": "n1", "params": {"a": 1}, "task_metadata": {"m": 1}}, "x"
            ),
        )
    ).json()
    assert first["id"] == "x" and first["error"] is None
    task = first["result"]
    assert (task["status"], task["status_reason"]) == (
        "RUNNING",
        "Task created, forwarding to ACP server",
    )
    again = (
        await client.post(
            url,
            json=rpc(
                "task/create", {"name": "n1", "task_metadata": {"m": 2}, "timeout_seconds": 5}
            ),
        )
    ).json()["result"]
    assert again["id"] == task["id"] and again["task_metadata"] == {"m": 1}
    assert again["params"] == {"a": 1} and again["deadline_at"] is None and again["version"] == 1
    changed = (
        await client.post(url, json=rpc("task/create", {"name": "n1", "params": {"a": 2}}))
    ).json()["result"]
    assert changed["params"] == {"a": 2} and changed["version"] == 2
    unnamed = [
        (await client.post(url, json=rpc("task/create", {}))).json()["result"]["id"]
        for _ in range(2)
    ]
    assert len(set(unnamed)) == 2


async def test_create_by_agent_name_and_link(client: httpx.AsyncClient, agent_factory: Any) -> None:
    agent = await agent_factory()
    r = await client.post(
        f"/agents/name/{agent['name']}/rpc", json=rpc("task/create", {"name": "by-name"})
    )
    task = r.json()["result"]
    linked = (await client.get(f"/tasks/{task['id']}", params={"relationships": "agents"})).json()[
        "agents"
    ]
    assert [a["id"] for a in linked] == [agent["id"]]


async def test_deleted_task_name_is_refused(client: httpx.AsyncClient, agent_factory: Any) -> None:
    agent = await agent_factory()
    url = f"/agents/{agent['id']}/rpc"
    task = (await client.post(url, json=rpc("task/create", {"name": "gone"}))).json()["result"]
    await client.delete(f"/tasks/{task['id']}")
    r = await client.post(url, json=rpc("task/create", {"name": "gone", "params": {"x": 1}}))
    assert r.status_code == 200
    assert r.json()["result"] is None
    assert r.json()["error"] == {
        "code": -32603,
        "message": f"Task name 'gone' belongs to deleted task {task['id']}",
        "data": None,
    }
    assert (await client.get(f"/tasks/{task['id']}")).status_code == 404


async def test_unknown_agent(client: httpx.AsyncClient) -> None:
    r = await client.post("/agents/name/nobody/rpc", json=rpc("task/create", {}))
    assert (r.status_code, r.json()["message"]) == (404, "Item with name 'nobody' does not exist.")
    r = await client.post("/agents/nobody/rpc", json=rpc("task/create", {}))
    assert r.status_code == 404


async def test_deleted_agent_is_jsonrpc_error(
    client: httpx.AsyncClient, agent_factory: Any
) -> None:
    agent = await agent_factory()
    await client.delete(f"/agents/{agent['id']}")
    r = await client.post(f"/agents/{agent['id']}/rpc", json=rpc("task/create", {}))
    assert r.status_code == 200 and r.json()["error"]["message"] == f"Agent {agent['id']} not found"


@pytest.mark.parametrize(
    "body",
    [
        rpc("no/such", {}),
        rpc("task/create", {"name": 5}),
        rpc("task/create", {"params": [1]}),
        rpc("task/create", {"timeout_seconds": -1}),
        rpc("task/create", "not-an-object"),
        {"jsonrpc": "1.0", "method": "task/create", "params": {}, "id": 1},
        {"params": {}},
        [1, 2],
    ],
)
async def test_envelope_errors_are_422(
    client: httpx.AsyncClient, agent_factory: Any, body: Any
) -> None:
    agent = await agent_factory()
    r = await client.post(f"/agents/{agent['id']}/rpc", json=body)
    assert r.status_code == 422
    assert r.json()["code"] == 422
    assert (await client.get("/tasks")).json() == []


async def test_malformed_json_is_422(client: httpx.AsyncClient, agent_factory: Any) -> None:
    agent = await agent_factory()
    r = await client.post(
        f"/agents/{agent['id']}/rpc", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["code"] == 422
