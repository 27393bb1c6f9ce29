"""Events over REST: get, list after a cursor in sequence order, limits, errors."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from agentex.types import Event

from agentkeep.store import SqlStore
from tests.assertions import assert_error


@pytest.fixture
async def inbox(
    store: SqlStore, agent_factory: Any, task_factory: Any
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """A task with five events for its agent, interleaved with another task's events."""
    agent = await agent_factory()
    task, other = await task_factory(agent), await task_factory(agent)
    mine = []
    for i in range(5):
        content = {"type": "text", "author": "user", "content": f"e{i}", "style": "static"}
        mine.append(await store.create_event(task["id"], agent["id"], content))
        await store.create_event(other["id"], agent["id"], None)
    return agent, task, mine


async def test_get_event(client: httpx.AsyncClient, inbox: Any) -> None:
    _, task, events = inbox
    r = await client.get(f"/events/{events[0]['id']}")
    assert r.status_code == 200, r.text
    event = Event.model_validate(r.json())
    assert event.task_id == task["id"] and event.sequence_id == events[0]["sequence_id"]
    assert event.content is not None and event.content.content == "e0"  # type: ignore[union-attr]
    missing = str(uuid.uuid4())
    assert_error(
        await client.get(f"/events/{missing}"), 404, f"Item with id '{missing}' does not exist."
    )


async def test_list_after_cursor_in_sequence_order(client: httpx.AsyncClient, inbox: Any) -> None:
    agent, task, events = inbox

    async def ids(**params: Any) -> list[str]:
        r = await client.get(
            "/events", params={"task_id": task["id"], "agent_id": agent["id"], **params}
        )
        assert r.status_code == 200, r.text
        parsed = [Event.model_validate(e) for e in r.json()]
        seqs = [e.sequence_id for e in parsed]
        assert seqs == sorted(seqs)
        return [e.id for e in parsed]

    every = [e["id"] for e in events]
    assert await ids() == every
    assert await ids(last_processed_event_id=every[1]) == every[2:]
    assert await ids(last_processed_event_id=every[1], limit=2) == every[2:4]
    assert await ids(last_processed_event_id=every[-1]) == []
    assert await ids(limit=1000) == every
    # As in Agentex, a cursor that names no event filters nothing.
    assert await ids(last_processed_event_id=str(uuid.uuid4())) == every


async def test_no_limit_returns_every_event(
    client: httpx.AsyncClient, store: SqlStore, agent_factory: Any, task_factory: Any
) -> None:
    agent = await agent_factory()
    task = await task_factory(agent)
    for _ in range(1100):
        await store.create_event(task["id"], agent["id"], None)
    r = await client.get("/events", params={"task_id": task["id"], "agent_id": agent["id"]})
    assert r.status_code == 200 and len(r.json()) == 1100


async def test_list_other_agent_sees_nothing(client: httpx.AsyncClient, inbox: Any) -> None:
    _, task, _ = inbox
    r = await client.get("/events", params={"task_id": task["id"], "agent_id": str(uuid.uuid4())})
    assert r.status_code == 200 and r.json() == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "x"},
        {"task_id": None},
        {"agent_id": None},
    ],
)
async def test_list_bad_query(
    client: httpx.AsyncClient, inbox: Any, params: dict[str, Any]
) -> None:
    agent, task, _ = inbox
    query = {"task_id": task["id"], "agent_id": agent["id"], **params}
    query = {k: v for k, v in query.items() if v is not None}
    assert_error(await client.get("/events", params=query), 422)


async def test_list_unknown_task_is_404(client: httpx.AsyncClient, inbox: Any) -> None:
    agent, _, _ = inbox
    missing = str(uuid.uuid4())
    r = await client.get("/events", params={"task_id": missing, "agent_id": agent["id"]})
    assert_error(r, 404, f"Item with id '{missing}' does not exist.")


async def test_deleted_tasks_events_stay_readable(client: httpx.AsyncClient, inbox: Any) -> None:
    agent, task, events = inbox
    assert (await client.delete(f"/tasks/{task['id']}")).status_code == 200
    r = await client.get("/events", params={"task_id": task["id"], "agent_id": agent["id"]})
    assert [e["id"] for e in r.json()] == [e["id"] for e in events]
    assert (await client.get(f"/events/{events[0]['id']}")).status_code == 200


async def test_huge_limit_is_422(client: httpx.AsyncClient, inbox: Any) -> None:
    agent, task, _ = inbox
    r = await client.get(
        "/events", params={"task_id": task["id"], "agent_id": agent["id"], "limit": 10**30}
    )
    assert_error(r, 422)
