"""Paging is defined once (``PageDep``): every list route has the same bounds and meaning.

``page_number=9223372036854775807`` answered 500 on SQLite (and a misleading "NUL
characters" 400 on Postgres) on the two routes that declared paging inline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from agentkeep.domain.paging import MAX_LIMIT, MAX_PAGE_NUMBER

Seed = Callable[[httpx.AsyncClient, dict[str, Any], dict[str, Any], int], Awaitable[None]]


async def _tasks(client: httpx.AsyncClient, agent: dict[str, Any], _t: Any, n: int) -> None:
    for _ in range(n):
        r = await client.post(
            f"/agents/{agent['id']}/rpc",
            json={"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}},
        )
        assert r.json()["error"] is None, r.text


async def _agents(client: httpx.AsyncClient, _a: Any, _t: Any, n: int) -> None:
    for i in range(n):
        body = {"name": f"extra-{i}", "acp_url": "http://127.0.0.1:9", "acp_type": "sync"}
        assert (await client.post("/agents/register", json=body)).status_code == 200


async def _messages(client: httpx.AsyncClient, _a: Any, task: dict[str, Any], n: int) -> None:
    for i in range(n):
        content = {"type": "text", "author": "user", "content": str(i)}
        r = await client.post("/messages", json={"task_id": task["id"], "content": content})
        assert r.status_code == 200


async def _spans(client: httpx.AsyncClient, _a: Any, task: dict[str, Any], n: int) -> None:
    for i in range(n):
        body = {"trace_id": "t", "name": f"s{i}", "start_time": f"2024-01-0{i + 1}T00:00:00Z"}
        assert (await client.post("/spans", json={**body, "task_id": task["id"]})).is_success


async def _states(client: httpx.AsyncClient, _a: Any, task: dict[str, Any], n: int) -> None:
    for i in range(n):
        other = await client.post(
            "/agents/register",
            json={"name": f"state-{i}", "acp_url": "http://127.0.0.1:9", "acp_type": "sync"},
        )
        body = {"task_id": task["id"], "agent_id": other.json()["id"], "state": {"i": i}}
        assert (await client.post("/states", json=body)).status_code == 200


async def _trackers(client: httpx.AsyncClient, _a: Any, _t: Any, n: int) -> None:
    await _tasks(client, (await client.get("/agents")).json()[0], None, n)


#: Every list route with offset paging, and how to add ``n`` items to it.
LIST_ROUTES: dict[str, Seed] = {
    "/tasks": _tasks,
    "/agents": _agents,
    "/messages": _messages,
    "/spans": _spans,
    "/states": _states,
    "/tracker": _trackers,
}


@pytest.fixture
def openapi_paths() -> set[str]:
    from agentkeep.app import create_app
    from agentkeep.settings import Settings

    spec = create_app(Settings()).openapi()
    return {
        path
        for path, item in spec["paths"].items()
        if "get" in item
        and {"page_number", "limit", "order_by", "order_direction"}
        <= {p["name"] for p in item["get"].get("parameters", [])}
    }


#: The platform's list routes share ``PageDep`` and its bounds; their own tests seed them.
PLATFORM_LIST_ROUTES = {"/agents/{agent_id}/deployments", "/deployment-history"}


def test_the_list_routes_are_exactly_those_with_page_parameters(openapi_paths: set[str]) -> None:
    assert openapi_paths == set(LIST_ROUTES) | PLATFORM_LIST_ROUTES


@pytest.mark.parametrize("path", LIST_ROUTES)
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"page_number": 2**63 - 1}, 422),
        ({"page_number": MAX_PAGE_NUMBER + 1}, 422),
        ({"page_number": 0}, 422),
        ({"limit": MAX_LIMIT + 1}, 422),
        ({"limit": -1}, 422),
        ({"order_by": "no_such_field"}, 400),
    ],
)
async def test_out_of_bounds_paging_is_4xx_on_every_list_route(
    client: httpx.AsyncClient, task_factory: Any, path: str, params: dict[str, Any], code: int
) -> None:
    task = await task_factory()
    r = await client.get(path, params={"task_id": task["id"], **params})
    assert r.status_code == code, r.text
    assert set(r.json()) == {"message", "code", "data"} and r.json()["code"] == code


@pytest.mark.parametrize("path", LIST_ROUTES)
async def test_pages_partition_each_list(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any, path: str
) -> None:
    agent = await agent_factory()
    task = await task_factory(agent)
    await LIST_ROUTES[path](client, agent, task, 4)
    scope = {} if path in ("/tasks", "/agents", "/tracker") else {"task_id": task["id"]}
    everything = (await client.get(path, params={**scope, "order_by": "id"})).json()
    assert len(everything) >= 4
    pages = [
        (await client.get(path, params={**scope, "order_by": "id", "limit": 2, "page_number": n}))
        for n in range(1, len(everything) // 2 + 3)
    ]
    assert all(p.status_code == 200 for p in pages)
    assert [item for p in pages for item in p.json()] == everything
    assert pages[-1].json() == []
    last = await client.get(path, params={**scope, "page_number": MAX_PAGE_NUMBER})
    assert last.status_code == 200 and last.json() == []
