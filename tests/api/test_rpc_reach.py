"""JSON-RPC under agent-key scope: a method that names a task must find it reachable.

Regression tests for the security issue: with agent A's key, calls on any agent's RPC
route could create over, cancel, message, send events into and interrupt other agents'
tasks. Now every method that names a task answers a foreign one exactly like a missing one,
and ``task/create`` with a foreign task's name refuses without touching that task.
"""

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
# Nothing listens there: a method that got as far as calling the agent would fail the task.
DEAD_AGENT_URL = "http://127.0.0.1:9"


@dataclass
class Agent:
    id: str
    name: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"x-agent-api-key": self.key}


@pytest.fixture
async def api(db_url: str, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=db_url, api_keys="ops:ops-secret-key")
    async with running_app(create_app(settings, store=store)) as c:
        yield c


async def register(c: httpx.AsyncClient, acp_type: str) -> Agent:
    name = f"agent-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "description": "", "acp_url": DEAD_AGENT_URL, "acp_type": acp_type}
    r = await c.post("/agents/register", json=body, headers=OPS)
    assert r.status_code == 200, r.text
    return Agent(r.json()["id"], name, r.json()["agent_api_key"])


async def rpc(
    c: httpx.AsyncClient, agent: Agent, headers: dict[str, str], method: str, **params: Any
) -> dict[str, Any]:
    r = await c.post(
        f"/agents/name/{agent.name}/rpc",
        json={"jsonrpc": "2.0", "id": 7, "method": method, "params": params},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def snapshot(c: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    """Everything a foreign call could have changed, read with the operator key."""
    task = (await c.get(f"/tasks/{task_id}", headers=OPS)).json()
    history = (await c.get(f"/tasks/{task_id}/history", headers=OPS)).json()
    messages = (await c.get("/messages", params={"task_id": task_id}, headers=OPS)).json()
    events = (await c.get("/events", params={"task_id": task_id}, headers=OPS)).json()
    return {"task": task, "history": history, "messages": messages, "events": events}


@pytest.fixture
async def world(api: httpx.AsyncClient) -> dict[str, Any]:
    """Agent A (the intruder), B (sync) and C (async), each with a task of its own."""
    a, b, c = await register(api, "sync"), await register(api, "sync"), await register(api, "async")
    b_task = await rpc(api, b, b.headers, "task/create", name=f"b-{uuid.uuid4().hex[:6]}")
    # C's task is made on B's (sync) route with C's key: C created it, so it is C's.
    # (task/create on C's own async route would forward to C, whose process is down.)
    c_task = await rpc(api, b, c.headers, "task/create", name=f"c-{uuid.uuid4().hex[:6]}")
    return {"a": a, "b": b, "c": c, "b_task": b_task["result"], "c_task": c_task["result"]}


def same_error(got: dict[str, Any], missing: dict[str, Any], foreign: str, unknown: str) -> None:
    assert got["result"] is None and missing["result"] is None
    assert got["error"]["message"].replace(foreign, "X") == missing["error"]["message"].replace(
        unknown, "X"
    )
    assert got["error"]["code"] == missing["error"]["code"]


TEXT = {"content": {"type": "text", "author": "user", "content": "hi"}}
# (agent route, method, extra params, how the task is named). message/send by name is a
# get-or-create: the create test below covers it.
CALLS = [
    *[("b", "message/send", TEXT, "task_id"), ("c", "task/cancel", {}, "task_id")],
    *[
        (t, m, x, by)
        for t, m, x in [
            ("b", "task/interrupt", {}),
            ("c", "task/interrupt", {}),
            ("c", "event/send", TEXT),
        ]
        for by in ("task_id", "task_name")
    ],
    ("c", "task/cancel", {}, "task_name"),
]


@pytest.mark.parametrize(("target", "method", "extra", "by"), CALLS)
async def test_foreign_task_answers_like_a_missing_one_and_changes_nothing(
    api: httpx.AsyncClient, world: dict[str, Any], target: str, method: str, extra: Any, by: str
) -> None:
    a, owner = world["a"], world[target]
    task = world["b_task"] if target == "b" else world["c_task"]
    foreign = task["id"] if by == "task_id" else task["name"]
    unknown = str(uuid.uuid4()) if by == "task_id" else f"nope-{uuid.uuid4().hex[:6]}"
    before = await snapshot(api, task["id"])
    got = await rpc(api, owner, a.headers, method, **{by: foreign}, **extra)
    missing = await rpc(api, owner, a.headers, method, **{by: unknown}, **extra)
    same_error(got, missing, foreign, unknown)
    assert await snapshot(api, task["id"]) == before
    # Still invisible to A over REST: the call did not link A to the task.
    assert (await api.get(f"/tasks/{task['id']}", headers=a.headers)).status_code == 404


@pytest.mark.parametrize("via", ["a", "b"])
@pytest.mark.parametrize("method", ["task/create", "message/send"])
async def test_creating_over_a_foreign_name_is_refused_and_touches_nothing(
    api: httpx.AsyncClient, world: dict[str, Any], via: str, method: str
) -> None:
    a, b_task = world["a"], world["b_task"]
    before = await snapshot(api, b_task["id"])
    params: dict[str, Any] = {"params": {"taken": "over"}}
    if method == "message/send":
        params = {"content": {"type": "text", "author": "user", "content": "hi"}}
    key = "name" if method == "task/create" else "task_name"
    got = await rpc(api, world[via], a.headers, method, **{key: b_task["name"]}, **params)
    assert got["result"] is None
    assert got["error"]["message"] == (
        f"Task name '{b_task['name']}' is already taken by a task you cannot reach."
    )
    assert await snapshot(api, b_task["id"]) == before
    assert (await api.get(f"/tasks/{b_task['id']}", headers=a.headers)).status_code == 404


async def test_agent_to_agent_calls_stay_allowed(
    api: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    a, b = world["a"], world["b"]
    # A creates a task on B's route and then acts on it: it created it, so it reaches it.
    made = await rpc(api, b, a.headers, "task/create", name=f"a-on-b-{uuid.uuid4().hex[:6]}")
    task = made["result"]
    again = await rpc(api, b, a.headers, "task/create", name=task["name"], params={"v": 2})
    assert again["error"] is None and again["result"]["params"] == {"v": 2}
    assert (await api.get(f"/tasks/{task['id']}", headers=a.headers)).status_code == 200


async def test_operators_reach_every_task(api: httpx.AsyncClient, world: dict[str, Any]) -> None:
    b, b_task = world["b"], world["b_task"]
    again = await rpc(api, b, OPS, "task/create", name=b_task["name"], params={"by": "ops"})
    assert again["error"] is None and again["result"]["id"] == b_task["id"]
    assert again["result"]["params"] == {"by": "ops"}
