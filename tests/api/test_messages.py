"""Messages over REST: writes, stream updates, filters, offset and cursor pages, errors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from agentex.types import TaskMessage

from agentkeep.app import create_app
from agentkeep.bus.memory import InMemoryBus
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.api.message_kit import all_messages, post_message, text
from tests.assertions import assert_error
from tests.conftest import running_app


class RecordingBus(InMemoryBus):
    """The real in-memory bus, also remembering what was published, per task."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, task_id: str, event: dict[str, Any]) -> str:
        self.published.append((task_id, orjson.loads(orjson.dumps(event))))
        return await super().publish(task_id, event)


@pytest.fixture
def recording_bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
async def client(
    settings: Settings, store: SqlStore, recording_bus: RecordingBus
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(settings, store=store, bus=recording_bus)) as c:
        yield c


async def test_create_fills_defaults_and_publishes_full(
    client: httpx.AsyncClient, task_factory: Any, recording_bus: RecordingBus
) -> None:
    task = await task_factory()
    msg = await post_message(client, task["id"], content=text("hi"))
    assert msg["task_id"] == task["id"] and msg["streaming_status"] is None
    assert msg["content"] == {
        **text("hi"),
        "style": "static",
        "format": "plain",
        "attachments": None,
    }
    assert datetime.fromisoformat(msg["created_at"]).utcoffset() == timedelta(0)
    events = [e for t, e in recording_bus.published if t == task["id"] and e["type"] == "full"]
    assert len(events) == 1
    assert events[0]["index"] is None
    assert events[0]["parent_task_message"] == msg
    assert events[0]["content"] == msg["content"]


async def test_create_in_progress_publishes_start(
    client: httpx.AsyncClient, task_factory: Any, recording_bus: RecordingBus
) -> None:
    task = await task_factory()
    msg = await post_message(
        client, task["id"], content=text("...", "agent"), streaming_status="IN_PROGRESS"
    )
    kinds = [
        e["type"]
        for t, e in recording_bus.published
        if t == task["id"] and "parent_task_message" in e
    ]
    assert kinds == ["start"]
    # Finishing it announces the final content.
    r = await client.put(
        f"/messages/{msg['id']}",
        json={"task_id": task["id"], "content": text("done", "agent"), "streaming_status": "DONE"},
    )
    assert r.status_code == 200, r.text
    assert TaskMessage.model_validate(r.json()).streaming_status == "DONE"
    kinds = [
        e["type"]
        for t, e in recording_bus.published
        if t == task["id"] and "parent_task_message" in e
    ]
    assert kinds == ["start", "full"]


async def test_created_at_is_kept_in_utc(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory()
    msg = await post_message(
        client, task["id"], content=text("x"), created_at="2024-05-01T12:00:00+02:00"
    )
    assert datetime.fromisoformat(msg["created_at"]) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert msg["created_at"].endswith("+00:00")


@pytest.mark.parametrize(
    "body",
    [
        {"content": {"type": "text", "content": "no author"}},
        {"content": {"type": "video", "author": "user"}},
        {"content": {"type": "data", "author": "user", "data": [1, 2]}},
        {"content": text("x"), "streaming_status": "HALF"},
        {"content": text("x"), "created_at": "yesterday"},
        {"content": "plain string"},
        {},
    ],
)
async def test_create_rejects_bad_input(
    client: httpx.AsyncClient, task_factory: Any, body: dict[str, Any]
) -> None:
    task = await task_factory()
    r = await client.post("/messages", json={"task_id": task["id"], **body})
    assert_error(r, 422)
    assert await all_messages(client, task["id"]) == []


async def test_create_needs_an_existing_task(client: httpx.AsyncClient) -> None:
    missing = str(uuid.uuid4())
    r = await client.post("/messages", json={"task_id": missing, "content": text("x")})
    assert_error(r, 404, f"Item with id '{missing}' does not exist.")
    r = await client.post("/messages/batch", json={"task_id": missing, "contents": [text("x")]})
    assert_error(r, 404, f"Item with id '{missing}' does not exist.")
    r = await client.get("/messages", params={"task_id": missing})
    assert_error(r, 404, f"Item with id '{missing}' does not exist.")
    r = await client.get("/messages/paginated", params={"task_id": missing})
    assert_error(r, 404, f"Item with id '{missing}' does not exist.")


async def test_batch_create_stamps_base_plus_i_ms(
    client: httpx.AsyncClient, task_factory: Any, recording_bus: RecordingBus
) -> None:
    task = await task_factory()
    base = datetime(2025, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    r = await client.post(
        "/messages/batch",
        json={
            "task_id": task["id"],
            "contents": [text(f"m{i}") for i in range(3)],
            "created_at": base.isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    rows = [TaskMessage.model_validate(m) for m in r.json()]
    assert [m.created_at for m in rows] == [base + timedelta(milliseconds=i) for i in range(3)]
    fulls = [e for t, e in recording_bus.published if t == task["id"] and e["type"] == "full"]
    assert [e["parent_task_message"]["id"] for e in fulls] == [m.id for m in rows]
    listed = await all_messages(client, task["id"])
    assert [m["content"]["content"] for m in listed] == ["m2", "m1", "m0"]


async def test_put_replaces_and_refuses_another_tasks_message(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task, other = await task_factory(), await task_factory()
    msg = await post_message(client, task["id"], content=text("before"))
    r = await client.put(
        f"/messages/{msg['id']}", json={"task_id": other["id"], "content": text("hijack")}
    )
    assert_error(r, 404, f"Item with id '{msg['id']}' does not exist.")
    r = await client.get(f"/messages/{msg['id']}")
    assert r.json()["content"]["content"] == "before"
    r = await client.put(
        f"/messages/{uuid.uuid4()}", json={"task_id": task["id"], "content": text("x")}
    )
    assert_error(r, 404)
    r = await client.put(f"/messages/{msg['id']}", json={"task_id": task["id"], "content": 5})
    assert_error(r, 422)
    r = await client.put(
        f"/messages/{msg['id']}", json={"task_id": task["id"], "content": text("after")}
    )
    assert r.status_code == 200, r.text
    updated = TaskMessage.model_validate(r.json())
    assert updated.content.content == "after"  # type: ignore[union-attr]
    assert updated.created_at == datetime.fromisoformat(msg["created_at"])


async def test_batch_put_is_all_or_nothing(client: httpx.AsyncClient, task_factory: Any) -> None:
    task, other = await task_factory(), await task_factory()
    a = await post_message(client, task["id"], content=text("a"))
    b = await post_message(client, task["id"], content=text("b"))
    foreign = await post_message(client, other["id"], content=text("f"))
    for bad in (str(uuid.uuid4()), foreign["id"]):
        r = await client.put(
            "/messages/batch",
            json={"task_id": task["id"], "updates": {a["id"]: text("A"), bad: text("X")}},
        )
        assert_error(r, 404, f"Item with id '{bad}' does not exist.")
    contents = {m["id"]: m["content"]["content"] for m in await all_messages(client, task["id"])}
    assert contents == {a["id"]: "a", b["id"]: "b"}
    r = await client.put(
        "/messages/batch",
        json={"task_id": task["id"], "updates": {a["id"]: text("A"), b["id"]: text("B")}},
    )
    assert r.status_code == 200, r.text
    assert [TaskMessage.model_validate(m).id for m in r.json()] == [a["id"], b["id"]]
    contents = {m["id"]: m["content"]["content"] for m in await all_messages(client, task["id"])}
    assert contents == {a["id"]: "A", b["id"]: "B"}


async def test_get_by_id(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory()
    msg = await post_message(client, task["id"], content=text("x"))
    r = await client.get(f"/messages/{msg['id']}")
    assert r.status_code == 200 and r.json() == msg
    missing = str(uuid.uuid4())
    assert_error(await client.get(f"/messages/{missing}"), 404)


async def test_deleted_tasks_messages_stay_readable_and_writable(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    msg = await post_message(client, task["id"], content=text("before"))
    assert (await client.delete(f"/tasks/{task['id']}")).status_code == 200
    late = await post_message(client, task["id"], content=text("late", "agent"))
    r = await client.put(
        f"/messages/{msg['id']}", json={"task_id": task["id"], "content": text("edited")}
    )
    assert r.status_code == 200, r.text
    assert {m["id"] for m in await all_messages(client, task["id"])} == {msg["id"], late["id"]}
    assert (await client.get(f"/messages/{late['id']}")).status_code == 200


async def test_unknown_fields_are_ignored(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory()
    r = await client.post(
        "/messages",
        json={"task_id": task["id"], "content": {**text("x"), "extra": 1}, "whatever": True},
        params={"unknown": "1"},
    )
    assert r.status_code == 200, r.text
    assert "extra" not in r.json()["content"]


@pytest.mark.parametrize("path", ["/messages", "/states", "/tracker", "/spans"])
async def test_huge_page_numbers_are_422(
    client: httpx.AsyncClient, task_factory: Any, path: str
) -> None:
    task = await task_factory()
    r = await client.get(path, params={"task_id": task["id"], "page_number": 10**30})
    assert_error(r, 422)
    r = await client.get(path, params={"task_id": task["id"], "limit": 10**30})
    assert_error(r, 422)


async def test_values_a_database_cannot_hold_are_400(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    """NUL characters: PostgreSQL refuses them in text and JSONB (400, nothing stored) where
    SQLite stores them; either way the answer is never a 500."""
    task = await task_factory()
    r = await client.post("/messages", json={"task_id": task["id"], "content": text("a\x00b")})
    assert r.status_code in (200, 400), r.text
    stored = await all_messages(client, task["id"])
    assert len(stored) == (1 if r.status_code == 200 else 0)
    for path in ("/messages/a%00b", "/messages?task_id=a%00b"):
        r = await client.get(path)
        assert r.status_code in (400, 404), r.text
        assert set(r.json()) == {"message", "code", "data"}
