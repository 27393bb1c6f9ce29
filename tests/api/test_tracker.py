"""Trackers: created with each task link; get, list, and PUT with the cursor rules."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from agentex.types import AgentTaskTracker

from agentkeep.store import SqlStore
from tests.assertions import assert_error


@pytest.fixture
async def setup(
    client: httpx.AsyncClient, store: SqlStore, agent_factory: Any, task_factory: Any
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The tracker of a new task, and three events on that task."""
    agent = await agent_factory()
    task = await task_factory(agent)
    r = await client.get("/tracker", params={"task_id": task["id"], "agent_id": agent["id"]})
    assert r.status_code == 200, r.text
    [tracker] = r.json()
    events = [await store.create_event(task["id"], agent["id"], None) for _ in range(3)]
    return tracker, task, events


async def put(client: httpx.AsyncClient, tracker_id: str, **body: Any) -> httpx.Response:
    return await client.put(f"/tracker/{tracker_id}", json=body)


async def test_created_with_the_task(client: httpx.AsyncClient, setup: Any) -> None:
    tracker, task, _ = setup
    parsed = AgentTaskTracker.model_validate(tracker)
    assert parsed.task_id == task["id"] and parsed.last_processed_event_id is None
    assert parsed.status is None
    r = await client.get(f"/tracker/{tracker['id']}")
    assert r.status_code == 200 and r.json() == tracker


async def test_cursor_moves_forward_only(client: httpx.AsyncClient, setup: Any) -> None:
    tracker, _, events = setup
    r = await put(
        client, tracker["id"], last_processed_event_id=events[1]["id"], status="PROCESSING"
    )
    assert r.status_code == 200, r.text
    moved = AgentTaskTracker.model_validate(r.json())
    assert moved.last_processed_event_id == events[1]["id"] and moved.status == "PROCESSING"
    # Same position again is fine (a retried commit).
    assert (
        await put(client, tracker["id"], last_processed_event_id=events[1]["id"])
    ).status_code == 200
    r = await put(client, tracker["id"], last_processed_event_id=events[0]["id"])
    assert_error(r, 400)
    assert r.json()["message"] == (
        f"Cannot move cursor backwards: new sequence ID {events[0]['sequence_id']} "
        f"< current sequence ID {events[1]['sequence_id']}"
    )
    missing = str(uuid.uuid4())
    r = await put(client, tracker["id"], last_processed_event_id=missing, status="X")
    assert_error(r, 400, f"Event with ID {missing} not found")
    # Refusals changed nothing.
    r = await client.get(f"/tracker/{tracker['id']}")
    assert r.json()["last_processed_event_id"] == events[1]["id"]
    assert r.json()["status"] == "PROCESSING"
    r = await put(client, tracker["id"], last_processed_event_id=events[2]["id"])
    assert r.json()["last_processed_event_id"] == events[2]["id"]


async def test_omitted_fields_stay(client: httpx.AsyncClient, setup: Any) -> None:
    tracker, _, events = setup
    r = await put(
        client,
        tracker["id"],
        last_processed_event_id=events[0]["id"],
        status="PROCESSING",
        status_reason="busy",
    )
    assert r.status_code == 200
    r = await put(client, tracker["id"], status_reason="still busy")
    body = AgentTaskTracker.model_validate(r.json())
    assert body.status == "PROCESSING" and body.status_reason == "still busy"
    assert body.last_processed_event_id == events[0]["id"]
    # An explicit null cursor is "leave it", never a move back to nothing.
    r = await put(client, tracker["id"], last_processed_event_id=None, status=None)
    body = AgentTaskTracker.model_validate(r.json())
    assert body.last_processed_event_id == events[0]["id"] and body.status is None
    r = await put(client, tracker["id"], unknown="ignored")
    assert r.status_code == 200 and r.json()["status_reason"] == "still busy"


async def test_unknown_tracker_is_404(client: httpx.AsyncClient) -> None:
    missing = str(uuid.uuid4())
    assert_error(
        await client.get(f"/tracker/{missing}"), 404, f"Item with id '{missing}' does not exist."
    )
    assert_error(await put(client, missing, status="x"), 404)


@pytest.mark.parametrize(
    "body",
    [{"status": 5}, {"last_processed_event_id": ["a"]}, {"status_reason": {"a": 1}}],
)
async def test_bad_put_is_422_and_changes_nothing(
    client: httpx.AsyncClient, setup: Any, body: dict[str, Any]
) -> None:
    tracker, _, _ = setup
    assert_error(await client.put(f"/tracker/{tracker['id']}", json=body), 422)
    assert (await client.get(f"/tracker/{tracker['id']}")).json() == tracker


async def test_list_filters_and_pages(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    agent = await agent_factory()
    tasks = [await task_factory(agent) for _ in range(3)]
    r = await client.get("/tracker", params={"agent_id": agent["id"], "order_direction": "asc"})
    trackers = [AgentTaskTracker.model_validate(t) for t in r.json()]
    assert [t.task_id for t in trackers] == [t["id"] for t in tasks]
    r = await client.get("/tracker", params={"agent_id": agent["id"], "limit": 1, "page_number": 3})
    assert [t["task_id"] for t in r.json()] == [tasks[0]["id"]]
    for params, code in (({"limit": 1001}, 422), ({"order_by": "status"}, 400)):
        assert_error(await client.get("/tracker", params=params), code)


async def test_deleted_tasks_tracker_stays_writable(client: httpx.AsyncClient, setup: Any) -> None:
    tracker, task, events = setup
    assert (await client.delete(f"/tasks/{task['id']}")).status_code == 200
    r = await put(client, tracker["id"], last_processed_event_id=events[2]["id"])
    assert r.status_code == 200 and r.json()["last_processed_event_id"] == events[2]["id"]
