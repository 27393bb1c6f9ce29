"""Authentication (api.md): open routes, API keys, agent keys and their task scope."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import running_app

OPS = {"x-api-key": "ops-secret-key"}
UNAUTHORIZED = {"message": "Unauthorized", "code": 401, "data": None}


@pytest.fixture
async def api(db_url: str, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=db_url, api_keys="ops:ops-secret-key")
    async with running_app(create_app(settings, store=store)) as c:
        yield c


@dataclass
class Agent:
    id: str
    name: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"x-agent-api-key": self.key}


async def register(c: httpx.AsyncClient, headers: dict[str, str] | None = None) -> Agent:
    name = f"agent-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "description": "", "acp_url": "http://127.0.0.1:9", "acp_type": "sync"}
    r = await c.post("/agents/register", json=body, headers=headers or OPS)
    assert r.status_code == 200, r.text
    return Agent(r.json()["id"], name, r.json()["agent_api_key"])


async def create_task(
    c: httpx.AsyncClient, agent: Agent, headers: dict[str, str], name: str | None = None
) -> dict[str, Any]:
    r = await c.post(
        f"/agents/{agent.id}/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {"name": name}},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["error"] is None, r.text
    return dict(r.json()["result"])


@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/healthcheck", "/openapi.json", "/swagger", "/docs"]
)
async def test_open_routes_need_no_key(api: httpx.AsyncClient, path: str) -> None:
    r = await api.get(path)
    assert r.status_code == 200, r.text
    # A bad agent key does not close them either.
    assert (await api.get(path, headers={"x-agent-api-key": "nope"})).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/tasks"),
        ("GET", "/agents"),
        ("POST", "/messages"),
        ("GET", "/messages?task_id=x"),
        ("GET", "/states"),
        ("GET", "/events?task_id=x&agent_id=y"),
        ("GET", "/tracker"),
        ("GET", "/spans"),
        ("POST", "/agents/name/x/rpc"),
        ("POST", "/tasks/x/complete"),
    ],
)
async def test_everything_else_needs_a_credential(
    api: httpx.AsyncClient, method: str, path: str
) -> None:
    for headers in ({}, {"x-api-key": "wrong"}, {"authorization": "Bearer wrong"}):
        r = await api.request(method, path, headers=headers, json={})
        assert r.status_code == 401 and r.json() == UNAUTHORIZED, (headers, r.text)


async def test_registration_needs_a_credential(api: httpx.AsyncClient) -> None:
    body = {"name": "nokey", "description": "", "acp_url": "http://127.0.0.1:9"}
    for headers in ({}, {"x-api-key": "wrong"}, {"x-agent-api-key": "wrong"}):
        r = await api.post("/agents/register", json=body, headers=headers)
        assert r.status_code == 401 and r.json() == UNAUTHORIZED
    assert (await api.get("/agents/name/nokey", headers=OPS)).status_code == 404


async def test_api_key_in_any_accepted_header(api: httpx.AsyncClient) -> None:
    for headers in (
        OPS,
        {"authorization": "Bearer ops-secret-key"},
        {"x-agent-api-key": "ops-secret-key"},
    ):
        assert (await api.get("/tasks", headers=headers)).status_code == 200


async def test_unknown_agent_key_is_401_even_next_to_an_api_key(api: httpx.AsyncClient) -> None:
    r = await api.get("/tasks", headers={**OPS, "x-agent-api-key": "0" * 64})
    assert r.status_code == 401 and r.json() == UNAUTHORIZED


async def test_unknown_agent_key_is_401_without_api_keys(client: httpx.AsyncClient) -> None:
    r = await client.get("/tasks", headers={"x-agent-api-key": "f" * 64})
    assert r.status_code == 401 and r.json() == UNAUTHORIZED
    assert (await client.get("/tasks")).status_code == 200


async def test_registration_rules(api: httpx.AsyncClient) -> None:
    agent = await register(api)
    again = await register(api, {"x-agent-api-key": "ops-secret-key"})
    assert again.key != agent.key
    body = {
        "name": agent.name,
        "description": "",
        "acp_url": "http://127.0.0.1:9",
        "acp_type": "sync",
    }
    r = await api.post("/agents/register", json=body, headers=agent.headers)
    assert r.status_code == 200 and r.json()["agent_api_key"] == agent.key
    # Another agent's key cannot re-register this one.
    r = await api.post("/agents/register", json=body, headers=again.headers)
    assert r.status_code == 401 and r.json() == UNAUTHORIZED
    r = await api.post("/agents/register", json=body)
    assert r.status_code == 401


async def test_agent_key_reaches_its_own_tasks_only(api: httpx.AsyncClient) -> None:
    mine, theirs = await register(api), await register(api)
    own = await create_task(api, mine, OPS, name=f"own-{uuid.uuid4().hex[:6]}")
    foreign = await create_task(api, theirs, OPS, name=f"foreign-{uuid.uuid4().hex[:6]}")
    h = mine.headers
    assert (await api.get(f"/tasks/{own['id']}", headers=h)).status_code == 200
    assert (await api.get(f"/tasks/name/{own['name']}", headers=h)).status_code == 200
    missing = str(uuid.uuid4())
    for tid in (foreign["id"], missing):
        r = await api.get(f"/tasks/{tid}", headers=h)
        # Exactly what an unknown id gets: the answer does not reveal that the task exists.
        assert r.status_code == 404
        assert r.json() == {
            "message": f"Item with id '{tid}' does not exist.",
            "code": 404,
            "data": None,
        }
    r = await api.get(f"/tasks/name/{foreign['name']}", headers=h)
    assert r.json()["message"] == f"Item with name '{foreign['name']}' does not exist."
    listed = {t["id"] for t in (await api.get("/tasks", headers=h)).json()}
    assert listed == {own["id"]}
    listed = {t["id"] for t in (await api.get("/tasks", headers=OPS)).json()}
    assert listed == {own["id"], foreign["id"]}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/tasks/{id}/history", None),
        ("PUT", "/tasks/{id}", {"task_metadata": {"x": 1}}),
        ("PUT", "/tasks/name/{name}", {"task_metadata": {"x": 1}}),
        ("DELETE", "/tasks/{id}", None),
        ("DELETE", "/tasks/name/{name}", None),
        ("POST", "/tasks/{id}/complete", {}),
        ("POST", "/tasks/name/{name}/terminate", {}),
        (
            "POST",
            "/messages",
            {"task_id": "{id}", "content": {"type": "text", "author": "agent", "content": "x"}},
        ),
        ("POST", "/messages/batch", {"task_id": "{id}", "contents": []}),
        ("GET", "/messages?task_id={id}", None),
        ("GET", "/messages/paginated?task_id={id}", None),
        ("POST", "/states", {"task_id": "{id}", "agent_id": "{agent}", "state": {}}),
        ("GET", "/events?task_id={id}&agent_id={agent}", None),
        (
            "POST",
            "/spans",
            {"trace_id": "t", "name": "n", "start_time": "2025-01-01T00:00:00Z", "task_id": "{id}"},
        ),
        ("GET", "/spans?task_id={id}", None),
        ("GET", "/tracker?task_id={id}", None),
        ("GET", "/states?task_id={id}", None),
    ],
)
async def test_foreign_task_routes_are_404_and_change_nothing(
    api: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    mine, theirs = await register(api), await register(api)
    foreign = await create_task(api, theirs, OPS, name=f"f-{uuid.uuid4().hex[:8]}")

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.format(id=foreign["id"], name=foreign["name"], agent=mine.id)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    r = await api.request(method, fill(path), json=fill(body), headers=mine.headers)
    assert r.status_code == 404, r.text
    assert r.json()["code"] == 404 and r.json()["message"].startswith("Item with")
    after = (await api.get(f"/tasks/{foreign['id']}", headers=OPS)).json()
    assert after == foreign
    assert after["status"] == "RUNNING" and after["task_metadata"] == foreign["task_metadata"]
    assert (await api.get("/messages", params={"task_id": foreign["id"]}, headers=OPS)).json() == []


async def test_child_resources_of_own_and_foreign_tasks(
    api: httpx.AsyncClient, store: SqlStore
) -> None:
    mine, theirs = await register(api), await register(api)
    own = await create_task(api, mine, OPS)
    foreign = await create_task(api, theirs, OPS)
    h = mine.headers
    text = {"type": "text", "author": "agent", "content": "x"}
    msg = (
        await api.post("/messages", json={"task_id": own["id"], "content": text}, headers=h)
    ).json()
    other_msg = (
        await api.post("/messages", json={"task_id": foreign["id"], "content": text}, headers=OPS)
    ).json()
    assert (await api.get(f"/messages/{msg['id']}", headers=h)).status_code == 200
    r = await api.get(f"/messages/{other_msg['id']}", headers=h)
    assert r.status_code == 404 and other_msg["id"] in r.json()["message"]
    r = await api.put(
        f"/messages/{other_msg['id']}", json={"task_id": foreign["id"], "content": text}, headers=h
    )
    assert r.status_code == 404
    own_state = (
        await api.post(
            "/states", json={"task_id": own["id"], "agent_id": mine.id, "state": {}}, headers=h
        )
    ).json()
    st = (
        await api.post(
            "/states",
            json={"task_id": foreign["id"], "agent_id": theirs.id, "state": {"s": 1}},
            headers=OPS,
        )
    ).json()
    for method in ("GET", "DELETE"):
        assert (await api.request(method, f"/states/{st['id']}", headers=h)).status_code == 404
    assert (await api.put(f"/states/{st['id']}", json={"state": {}}, headers=h)).status_code == 404
    assert (await api.get(f"/states/{st['id']}", headers=OPS)).json()["state"] == {"s": 1}
    assert [s["id"] for s in (await api.get("/states", headers=h)).json()] == [own_state["id"]]
    trackers = (await api.get("/tracker", headers=h)).json()
    assert {t["task_id"] for t in trackers} == {own["id"]}
    foreign_tracker = (
        await api.get("/tracker", params={"task_id": foreign["id"]}, headers=OPS)
    ).json()[0]
    assert (await api.get(f"/tracker/{foreign_tracker['id']}", headers=h)).status_code == 404
    r = await api.put(f"/tracker/{foreign_tracker['id']}", json={"status": "x"}, headers=h)
    assert r.status_code == 404
    event = await store.create_event(foreign["id"], theirs.id, None)
    assert (await api.get(f"/events/{event['id']}", headers=h)).status_code == 404
    assert (await api.get(f"/events/{event['id']}", headers=OPS)).status_code == 200
    span = {"trace_id": "t", "name": "n", "start_time": "2025-01-01T00:00:00Z"}
    free = (await api.post("/spans", json=span, headers=h)).json()
    tied = (await api.post("/spans", json={**span, "task_id": foreign["id"]}, headers=OPS)).json()
    assert (await api.get(f"/spans/{tied['id']}", headers=h)).status_code == 404
    assert (
        await api.patch(f"/spans/{tied['id']}", json={"name": "m"}, headers=h)
    ).status_code == 404
    assert (
        await api.patch(f"/spans/{free['id']}", json={"task_id": foreign["id"]}, headers=h)
    ).status_code == 404
    assert [s["id"] for s in (await api.get("/spans", headers=h)).json()] == [free["id"]]


async def test_agent_key_calls_any_agents_rpc_and_reaches_what_it_created(
    api: httpx.AsyncClient,
) -> None:
    caller, callee = await register(api), await register(api)
    # Agent-to-agent: the caller's key creates a task on another agent...
    task = await create_task(api, callee, caller.headers)
    # ...and may follow it over REST, as may the agent the task is linked to.
    for agent in (caller, callee):
        r = await api.get(f"/tasks/{task['id']}", headers=agent.headers)
        assert r.status_code == 200, r.text
    r = await api.post(
        f"/tasks/{task['id']}/complete", json={"reason": "done"}, headers=caller.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "COMPLETED"
    stranger = await register(api)
    assert (await api.get(f"/tasks/{task['id']}", headers=stranger.headers)).status_code == 404


async def test_without_api_keys_agent_keys_are_not_scoped(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    one, two = await agent_factory(), await agent_factory()
    task = await task_factory(two)
    r = await client.get(f"/tasks/{task['id']}", headers={"x-agent-api-key": one["agent_api_key"]})
    assert r.status_code == 200


async def test_streams_of_foreign_tasks_look_unknown(api: httpx.AsyncClient) -> None:
    mine, theirs = await register(api), await register(api)
    foreign = await create_task(api, theirs, OPS, name=f"s-{uuid.uuid4().hex[:8]}")
    missing = str(uuid.uuid4())
    # The by-id stream answers an unknown id with one error frame and ends: a foreign
    # task gets the very same frame (with its own id), so nothing reveals that it exists.
    for tid in (foreign["id"], missing):
        r = await api.get(f"/tasks/{tid}/stream", headers=mine.headers)
        assert r.status_code == 200
        assert "connected" not in r.text and f"Task {tid} not found" in r.text
    r = await api.get(f"/tasks/name/{foreign['name']}/stream", headers=mine.headers)
    assert r.status_code == 404
    assert r.json()["message"] == f"Item with name '{foreign['name']}' does not exist."
    update = {
        "type": "full",
        "index": 0,
        "content": {"type": "text", "author": "agent", "content": "x"},
    }
    r = await api.post(f"/tasks/{foreign['id']}/stream/events", json=update, headers=mine.headers)
    assert r.status_code == 404
    assert r.json()["message"] == f"Item with id '{foreign['id']}' does not exist."
