"""Messages over REST: writes, stream updates, filters, offset and cursor pages, errors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from agentex.types import MessageListPaginatedResponse, TaskMessage

from agentkeep.app import create_app
from agentkeep.bus.memory import InMemoryBus
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
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


def text(body: str, author: str = "user") -> dict[str, Any]:
    return {"type": "text", "author": author, "content": body}


async def post_message(client: httpx.AsyncClient, task_id: str, **body: Any) -> dict[str, Any]:
    r = await client.post("/messages", json={"task_id": task_id, **body})
    assert r.status_code == 200, r.text
    TaskMessage.model_validate(r.json())
    return dict(r.json())


def assert_error(r: httpx.Response, code: int, message: str | None = None) -> None:
    assert r.status_code == code, r.text
    body = r.json()
    assert set(body) == {"message", "code", "data"} and body["code"] == code
    if message is not None:
        assert body["message"] == message


async def all_messages(client: httpx.AsyncClient, task_id: str) -> list[dict[str, Any]]:
    r = await client.get("/messages", params={"task_id": task_id, "limit": 1000})
    assert r.status_code == 200, r.text
    return list(r.json())


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


async def test_list_pages_and_orders(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory()
    base = datetime(2025, 1, 1, tzinfo=UTC)
    r = await client.post(
        "/messages/batch",
        json={
            "task_id": task["id"],
            "contents": [text(str(i)) for i in range(5)],
            "created_at": base.isoformat(),
        },
    )
    assert r.status_code == 200

    async def page(**params: Any) -> list[str]:
        r = await client.get("/messages", params={"task_id": task["id"], **params})
        assert r.status_code == 200, r.text
        return [TaskMessage.model_validate(m).content.content for m in r.json()]  # type: ignore[union-attr]

    assert await page() == ["4", "3", "2", "1", "0"]
    assert await page(order_direction="asc") == ["0", "1", "2", "3", "4"]
    assert await page(limit=2, page_number=2) == ["2", "1"]
    assert await page(limit=2, page_number=3, order_by="created_at") == ["0"]
    assert await page(limit=0) == ["4", "3", "2", "1", "0"]
    assert await page(limit=2, page_number=9) == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 1001}, 422),
        ({"limit": -1}, 422),
        ({"page_number": 0}, 422),
        ({"limit": "many"}, 422),
        ({"order_by": "content"}, 400),
        ({"filters": "{not json"}, 400),
        ({"filters": "3"}, 400),
        ({"filters": '[{"streaming_status": "HALF"}]'}, 400),
        ({"filters": '[{"content": "text"}]'}, 400),
    ],
)
async def test_list_rejects_bad_query(
    client: httpx.AsyncClient, task_factory: Any, params: dict[str, Any], code: int
) -> None:
    task = await task_factory()
    r = await client.get("/messages", params={"task_id": task["id"], **params})
    assert_error(r, code)


async def test_list_needs_task_id(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/messages"), 422)
    assert_error(await client.get("/messages/paginated"), 422)


async def _mixed(client: httpx.AsyncClient, task_id: str) -> None:
    await post_message(client, task_id, content=text("u1"))
    await post_message(client, task_id, content=text("a1", "agent"), streaming_status="DONE")
    await post_message(
        client, task_id, content={"type": "data", "author": "agent", "data": {"k": 1, "z": 2}}
    )
    await post_message(
        client, task_id, content={"type": "data", "author": "user", "data": {"k": 2}}
    )
    await post_message(client, task_id, content=text("a2", "agent"), streaming_status="IN_PROGRESS")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"content": {"type": "text"}}, {"u1", "a1", "a2"}),
        ([{"content": {"author": "user"}}], {"u1", "k2"}),
        ([{"content": {"type": "data", "data": {"k": 1}}}], {"k1"}),
        ([{"content": {"author": "user"}}, {"streaming_status": "DONE"}], {"u1", "k2", "a1"}),
        ([{"content": {"type": "text"}, "exclude": True}], {"k1", "k2"}),
        (
            [
                {"content": {"author": "agent"}},
                {"content": {"type": "data"}, "exclude": True},
                {"streaming_status": "IN_PROGRESS", "exclude": True},
            ],
            {"a1"},
        ),
        # Null fields mean "any value", as the client's all-optional filter models send.
        ([{"content": {"type": "text", "author": None, "content": None}}], {"u1", "a1", "a2"}),
        ([], {"u1", "a1", "k1", "k2", "a2"}),
    ],
)
async def test_list_filters(
    client: httpx.AsyncClient, task_factory: Any, filters: Any, expected: set[str]
) -> None:
    task = await task_factory()
    await _mixed(client, task["id"])
    r = await client.get(
        "/messages", params={"task_id": task["id"], "filters": orjson.dumps(filters).decode()}
    )
    assert r.status_code == 200, r.text
    assert {_label(m) for m in r.json()} == expected


def _label(m: dict[str, Any]) -> str:
    c = m["content"]
    return str(c["content"]) if c["type"] == "text" else f"k{c['data']['k']}"


async def test_filters_apply_before_paging(client: httpx.AsyncClient, task_factory: Any) -> None:
    """Pages of a filtered list are full pages of matches, not pages of all rows filtered."""
    task = await task_factory()
    contents = [text(f"t{i}") if i % 3 == 0 else text(f"o{i}", "agent") for i in range(12)]
    await client.post("/messages/batch", json={"task_id": task["id"], "contents": contents})
    flt = orjson.dumps({"content": {"author": "user"}}).decode()
    seen: list[str] = []
    for page_number in (1, 2, 3):
        r = await client.get(
            "/messages",
            params={"task_id": task["id"], "filters": flt, "limit": 2, "page_number": page_number},
        )
        seen += [m["content"]["content"] for m in r.json()]
    assert seen == ["t9", "t6", "t3", "t0"]


async def test_cursor_pages_older_and_newer(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory()
    await client.post(
        "/messages/batch",
        json={"task_id": task["id"], "contents": [text(str(i)) for i in range(5)]},
    )

    async def walk(direction: str) -> list[list[str]]:
        pages: list[list[str]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"task_id": task["id"], "limit": 2, "direction": direction}
            if cursor:
                params["cursor"] = cursor
            r = await client.get("/messages/paginated", params=params)
            assert r.status_code == 200, r.text
            body = MessageListPaginatedResponse.model_validate(r.json())
            pages.append([m.content.content for m in body.data])  # type: ignore[union-attr]
            assert body.has_more == (body.next_cursor is not None)
            if not body.has_more:
                return pages
            cursor = body.next_cursor

    assert await walk("older") == [["4", "3"], ["2", "1"], ["0"]]
    assert await walk("newer") == [["0", "1"], ["2", "3"], ["4"]]


async def test_cursor_pages_see_a_stable_order_while_messages_arrive(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    for i in range(3):
        await post_message(client, task["id"], content=text(str(i)))
    r = await client.get("/messages/paginated", params={"task_id": task["id"], "limit": 2})
    first = r.json()
    assert [m["content"]["content"] for m in first["data"]] == ["2", "1"]
    await post_message(client, task["id"], content=text("new"))
    r = await client.get(
        "/messages/paginated",
        params={"task_id": task["id"], "limit": 2, "cursor": first["next_cursor"]},
    )
    assert [m["content"]["content"] for m in r.json()["data"]] == ["0"]
    assert r.json() == {**r.json(), "has_more": False, "next_cursor": None}


async def test_cursor_pages_filter(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory()
    await _mixed(client, task["id"])
    flt = orjson.dumps([{"content": {"type": "data"}}]).decode()
    r = await client.get("/messages/paginated", params={"task_id": task["id"], "filters": flt})
    assert [_label(m) for m in r.json()["data"]] == ["k2", "k1"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cursor": "%%%"}, 400),
        ({"cursor": "bm90IGpzb24"}, 400),
        ({"cursor": "eyJjIjogMX0"}, 400),
        ({"direction": "sideways"}, 422),
        ({"limit": 5000}, 422),
        ({"filters": "{"}, 400),
    ],
)
async def test_cursor_pages_reject_bad_input(
    client: httpx.AsyncClient, task_factory: Any, params: dict[str, Any], code: int
) -> None:
    task = await task_factory()
    r = await client.get("/messages/paginated", params={"task_id": task["id"], **params})
    assert_error(r, code)


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
