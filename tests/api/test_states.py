"""States: one per (task, agent), first write wins; list, get, put, delete; errors."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from agentex.types import State

from tests.assertions import assert_error


@pytest.fixture
async def pair(agent_factory: Any, task_factory: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    agent = await agent_factory()
    return agent, await task_factory(agent)


async def create(
    client: httpx.AsyncClient, task_id: str, agent_id: str, state: Any
) -> httpx.Response:
    return await client.post(
        "/states", json={"task_id": task_id, "agent_id": agent_id, "state": state}
    )


async def test_repeated_post_returns_the_first_state_unchanged(
    client: httpx.AsyncClient, pair: Any
) -> None:
    agent, task = pair
    r = await create(client, task["id"], agent["id"], {"turn": 1})
    assert r.status_code == 200, r.text
    first = State.model_validate(r.json())
    assert first.state == {"turn": 1} and first.task_id == task["id"]
    r = await create(client, task["id"], agent["id"], {"turn": 2})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == first.id and r.json()["state"] == {"turn": 1}
    r = await client.get("/states", params={"task_id": task["id"], "agent_id": agent["id"]})
    assert [s["id"] for s in r.json()] == [first.id]


async def test_list_is_oldest_first_and_filters(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    agent = await agent_factory()
    tasks = [await task_factory(agent) for _ in range(3)]
    ids = []
    for t in tasks:
        r = await create(client, t["id"], agent["id"], {"t": t["id"]})
        ids.append(r.json()["id"])
    r = await client.get("/states", params={"agent_id": agent["id"]})
    assert r.status_code == 200, r.text
    assert [State.model_validate(s).id for s in r.json()] == ids
    r = await client.get("/states", params={"agent_id": agent["id"], "order_direction": "desc"})
    assert [s["id"] for s in r.json()] == ids[::-1]
    r = await client.get("/states", params={"task_id": tasks[1]["id"]})
    assert [s["id"] for s in r.json()] == [ids[1]]
    r = await client.get("/states", params={"agent_id": agent["id"], "limit": 1, "page_number": 2})
    assert [s["id"] for s in r.json()] == [ids[1]]


async def test_get_put_delete(client: httpx.AsyncClient, pair: Any) -> None:
    agent, task = pair
    sid = (await create(client, task["id"], agent["id"], {"a": 1})).json()["id"]
    r = await client.get(f"/states/{sid}")
    assert r.status_code == 200 and State.model_validate(r.json()).state == {"a": 1}
    # agentex-sdk sends task_id and agent_id too: ignored, like every unknown field.
    r = await client.put(
        f"/states/{sid}",
        json={"state": {"a": 2}, "task_id": "other", "agent_id": "other", "x": 1},
    )
    assert r.status_code == 200, r.text
    updated = State.model_validate(r.json())
    assert updated.state == {"a": 2} and updated.task_id == task["id"]
    assert updated.agent_id == agent["id"]
    r = await client.delete(f"/states/{sid}")
    assert r.status_code == 200 and State.model_validate(r.json()).state == {"a": 2}
    for method in ("GET", "DELETE"):
        assert_error(await client.request(method, f"/states/{sid}"), 404)
    assert_error(await client.put(f"/states/{sid}", json={"state": {}}), 404)
    # The pair may have a state again once the old one is gone.
    assert (await create(client, task["id"], agent["id"], {"b": 1})).status_code == 200


async def test_unknown_task_or_agent_is_404(client: httpx.AsyncClient, pair: Any) -> None:
    agent, task = pair
    missing = str(uuid.uuid4())
    r = await create(client, missing, agent["id"], {})
    assert_error(r, 404, f"Item with id '{missing}' does not exist.")
    r = await create(client, task["id"], missing, {})
    assert_error(r, 404, f"Item with id '{missing}' does not exist.")
    assert (await client.get("/states", params={"task_id": task["id"]})).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"state": [1, 2]},
        {"state": "text"},
        {"state": None},
        {"task_id": None, "state": {}},
        {"agent_id": 5, "state": {}},
        {},
    ],
)
async def test_bad_bodies_are_422_and_store_nothing(
    client: httpx.AsyncClient, pair: Any, body: dict[str, Any]
) -> None:
    agent, task = pair
    full = {"task_id": task["id"], "agent_id": agent["id"], **body}
    if body == {}:
        full = {}
    assert_error(await client.post("/states", json=full), 422)
    assert (await client.get("/states", params={"task_id": task["id"]})).json() == []


async def test_bad_put_changes_nothing(client: httpx.AsyncClient, pair: Any) -> None:
    agent, task = pair
    sid = (await create(client, task["id"], agent["id"], {"a": 1})).json()["id"]
    for body in ({"state": [1]}, {}, {"state": None}):
        assert_error(await client.put(f"/states/{sid}", json=body), 422)
    assert (await client.get(f"/states/{sid}")).json()["state"] == {"a": 1}


@pytest.mark.parametrize(
    ("params", "code"),
    [({"limit": 1001}, 422), ({"page_number": 0}, 422), ({"order_by": "state"}, 400)],
)
async def test_list_bad_query(client: httpx.AsyncClient, params: dict[str, Any], code: int) -> None:
    assert_error(await client.get("/states", params=params), code)


async def test_deleted_tasks_state_stays_usable(client: httpx.AsyncClient, pair: Any) -> None:
    agent, task = pair
    assert (await client.delete(f"/tasks/{task['id']}")).status_code == 200
    r = await create(client, task["id"], agent["id"], {"late": True})
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    r = await client.put(f"/states/{sid}", json={"state": {"late": False}})
    assert r.status_code == 200 and r.json()["state"] == {"late": False}
    r = await client.get("/states", params={"task_id": task["id"]})
    assert [s["id"] for s in r.json()] == [sid]
