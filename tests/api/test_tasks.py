"""Task reads, lists, PUT and DELETE (api.md, Tasks)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from agentex.types import Task as ClientTask

from agentkeep import keys
from agentkeep.app import create_app
from agentkeep.settings import Settings
from tests.conftest import running_app


async def test_get_by_id_and_name_with_etag(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory(name="get-me", params={"p": 1}, task_metadata={"team": "a"})
    r = await client.get(f"/tasks/{task['id']}")
    assert r.status_code == 200 and r.headers["etag"] == '"1"'
    body = r.json()
    ClientTask.model_validate(body)
    assert body["params"] == {"p": 1} and body["task_metadata"] == {"team": "a"}
    assert body["cleaned_at"] is None and "agents" not in body
    assert body["created_at"].endswith("+00:00")
    by_name = await client.get("/tasks/name/get-me", params={"relationships": "agents"})
    assert by_name.json()["id"] == task["id"]
    assert [a["name"] for a in by_name.json()["agents"]] != []
    assert "acp_url" not in by_name.json()["agents"][0]


async def test_unknown_task_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/tasks/nope")
    assert r.status_code == 404
    assert r.json() == {"message": "Item with id 'nope' does not exist.", "code": 404, "data": None}
    r = await client.get("/tasks/name/nope")
    assert r.json()["message"] == "Item with name 'nope' does not exist."


async def test_list_filters(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    a, b = await agent_factory(), await agent_factory()
    t1 = await task_factory(a, task_metadata={"team": "x", "tags": ["red", "blue"], "n": 1})
    t2 = await task_factory(b, task_metadata={"team": "y", "nested": {"k": True}})
    t3 = await task_factory(a)
    await client.post(f"/tasks/{t3['id']}/complete")

    async def ids(**params: Any) -> set[str]:
        r = await client.get("/tasks", params=params)
        assert r.status_code == 200, r.text
        return {t["id"] for t in r.json()}

    assert await ids(agent_id=a["id"]) == {t1["id"], t3["id"]}
    assert await ids(agent_name=b["name"]) == {t2["id"]}
    assert await ids(status="COMPLETED") == {t3["id"]}
    assert await ids(task_metadata=json.dumps({"team": "x"})) == {t1["id"]}
    assert await ids(task_metadata=json.dumps({"tags": ["blue"]})) == {t1["id"]}
    assert await ids(task_metadata=json.dumps({"n": 1.0})) == {t1["id"]}
    assert await ids(task_metadata=json.dumps({"n": True})) == set()
    assert await ids(task_metadata=json.dumps({"nested": {"k": True}})) == {t2["id"]}
    assert await ids(task_metadata=json.dumps({"team": "z"})) == set()
    assert await ids(agent_id=a["id"], status="RUNNING") == {t1["id"]}


async def test_list_never_shows_deleted(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory()
    await client.delete(f"/tasks/{task['id']}")
    assert task["id"] not in {t["id"] for t in (await client.get("/tasks")).json()}
    r = await client.get("/tasks", params={"status": "DELETED"})
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Cannot filter by DELETED status; deleted tasks are not returned by list_tasks."
    )


async def test_pagination_and_ordering(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    agent = await agent_factory()
    made = [await task_factory(agent, name=f"p-{i}") for i in range(5)]
    r = await client.get(
        "/tasks",
        params={"agent_id": agent["id"], "order_by": "name", "order_direction": "asc", "limit": 2},
    )
    assert [t["name"] for t in r.json()] == ["p-0", "p-1"]
    assert "params" not in r.json()[0]
    r = await client.get(
        "/tasks",
        params={
            "agent_id": agent["id"],
            "order_by": "name",
            "order_direction": "asc",
            "limit": 2,
            "page_number": 3,
        },
    )
    assert [t["name"] for t in r.json()] == ["p-4"]
    r = await client.get("/tasks", params={"agent_id": agent["id"], "order_by": "name"})
    assert [t["name"] for t in r.json()] == [f"p-{i}" for i in reversed(range(5))]
    # Default order: most recently updated first.
    await client.post(f"/tasks/{made[1]['id']}/complete")
    r = await client.get("/tasks", params={"agent_id": agent["id"], "limit": 0})
    assert r.json()[0]["id"] == made[1]["id"] and len(r.json()) == 5


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 1001}, 422),
        ({"limit": -1}, 422),
        ({"limit": "ten"}, 422),
        ({"page_number": 0}, 422),
        ({"status": "SLEEPING"}, 422),
        ({"order_by": "params"}, 400),
        ({"task_metadata": "{not json"}, 400),
        ({"task_metadata": "[1, 2]"}, 400),
        ({"task_metadata": "{}"}, 400),
        ({"relationships": "owners"}, 422),
    ],
)
async def test_list_bad_input(client: httpx.AsyncClient, params: dict, code: int) -> None:
    r = await client.get("/tasks", params=params)
    assert r.status_code == code
    assert set(r.json()) == {"message", "code", "data"} and r.json()["code"] == code


async def test_limit_1000_is_allowed_and_unknown_params_ignored(client: httpx.AsyncClient) -> None:
    r = await client.get("/tasks", params={"limit": 1000, "whatever": "x"})
    assert r.status_code == 200


async def test_put_metadata_and_merge_params(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory(params={"a": 1, "b": {"x": 1}}, task_metadata={"m": 1})
    r = await client.put(
        f"/tasks/{task['id']}",
        json={
            "task_metadata": {"n": 2},
            "merge_params": {"b": {"y": 2}, "c": 3},
            "status": "COMPLETED",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["task_metadata"] == {"n": 2}
    assert body["params"] == {"a": 1, "b": {"y": 2}, "c": 3}
    assert body["status"] == "RUNNING" and body["version"] == 2 and r.headers["etag"] == '"2"'
    r = await client.put(f"/tasks/{task['id']}", json={"task_metadata": {}})
    assert r.json()["task_metadata"] == {}
    unchanged = await client.put(f"/tasks/{task['id']}", json={})
    assert unchanged.json()["version"] == 3


async def test_put_if_match_and_missing(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory(name="put-me")
    r = await client.put(
        f"/tasks/{task['id']}", json={"task_metadata": {"a": 1}}, headers={"If-Match": '"5"'}
    )
    assert r.status_code == 412
    assert (await client.get(f"/tasks/{task['id']}")).json()["task_metadata"] is None
    r = await client.put(
        "/tasks/name/put-me", json={"task_metadata": {"a": 1}}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.json()["task_metadata"] == {"a": 1}
    assert (await client.put("/tasks/none", json={"task_metadata": {}})).status_code == 404
    await client.delete(f"/tasks/{task['id']}")
    r = await client.put(f"/tasks/{task['id']}", json={"task_metadata": {"b": 1}})
    assert (r.status_code, r.json()["message"]) == (404, f"Task {task['id']} not found")


async def test_put_bad_types_change_nothing(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory(task_metadata={"keep": 1})
    for body in ({"task_metadata": "str"}, {"merge_params": [1]}, {"task_metadata": 5}):
        r = await client.put(f"/tasks/{task['id']}", json=body)
        assert r.status_code == 422, body
    after = (await client.get(f"/tasks/{task['id']}")).json()
    assert after["task_metadata"] == {"keep": 1} and after["version"] == 1


async def test_delete_by_id_and_name(client: httpx.AsyncClient, task_factory: Any) -> None:
    t1 = await task_factory(name="del-1")
    r = await client.delete(f"/tasks/{t1['id']}")
    assert r.json() == {"id": t1["id"], "message": f"Task {t1['id']} deleted successfully"}
    assert (await client.delete(f"/tasks/{t1['id']}")).status_code == 404
    assert (await client.get(f"/tasks/{t1['id']}")).status_code == 404
    t2 = await task_factory(name="del-2")
    await client.post(f"/tasks/{t2['id']}/complete")
    r = await client.delete("/tasks/name/del-2")
    assert r.json() == {"id": t2["id"], "message": "Task 'del-2' deleted successfully"}
    assert (await client.get("/tasks/name/del-2")).json()["message"] == "Task del-2 not found"
    history = (await client.get(f"/tasks/{t2['id']}/history")).json()
    assert [h["to_status"] for h in history] == ["RUNNING", "COMPLETED", "DELETED"]


def _answer(r: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    """Status, body bytes and every header (in any order)."""
    return r.status_code, r.content, sorted(r.headers.multi_items())


async def test_fast_lane_answers_exactly_like_the_route(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    # A query string sends the read through the FastAPI route; without one the fast lane
    # answers. Both must be byte-for-byte the same, headers included: found, missing or
    # deleted.
    task = await task_factory(params={"p": [1, {"q": None}]}, task_metadata={"m": "ü"})
    await client.post(f"/tasks/{task['id']}/interrupt")
    for task_id in (task["id"], "missing-id"):
        fast = await client.get(f"/tasks/{task_id}")
        routed = await client.get(f"/tasks/{task_id}", params={"via": "route"})
        assert _answer(fast) == _answer(routed)
    await client.delete(f"/tasks/{task['id']}")
    fast = await client.get(f"/tasks/{task['id']}")
    routed = await client.get(f"/tasks/{task['id']}", params={"via": "route"})
    assert _answer(fast) == _answer(routed)
    assert fast.json() == {"message": f"Task {task['id']} not found", "code": 404, "data": None}


async def test_fast_lane_with_api_keys_answers_like_the_route(db_url: str, store: Any) -> None:
    # With API keys configured the lane answers only callers the route would let read any
    # task (a configured key, as header, bearer token or session cookie); everyone else
    # gets the route's own answer (401), and so do agent keys.
    settings = Settings(database_url=db_url, api_keys="ops:ops-secret-key")
    async with running_app(create_app(settings, store=store)) as c:
        ops = {"x-api-key": "ops-secret-key"}
        agent = await c.post(
            "/agents/register",
            json={"name": "lane", "acp_url": "http://127.0.0.1:9", "acp_type": "sync"},
            headers=ops,
        )
        rpc = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}
        created = await c.post(f"/agents/{agent.json()['id']}/rpc", json=rpc, headers=ops)
        task_id = created.json()["result"]["id"]
        allowed = [
            ops,
            {"authorization": "Bearer ops-secret-key"},
            {"cookie": f"{keys.SESSION_COOKIE}=ops-secret-key"},
        ]
        refused: list[dict[str, str]] = [{"x-api-key": "wrong"}, {}]
        agent_key = {"x-agent-api-key": agent.json()["agent_api_key"]}
        for headers in [*allowed, *refused, agent_key]:
            fast = await c.get(f"/tasks/{task_id}", headers=headers)
            routed = await c.get(f"/tasks/{task_id}", params={"via": "route"}, headers=headers)
            assert _answer(fast) == _answer(routed), headers
            if headers in allowed:
                assert fast.status_code == 200 and fast.json()["id"] == task_id
            elif headers in refused:
                assert fast.status_code == 401
