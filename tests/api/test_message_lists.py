"""Message lists: offset pages, ordering, ``filters`` in SQL, cursor pages, bad queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from agentex.types import MessageListPaginatedResponse, TaskMessage

from tests.api.message_kit import post_message, text
from tests.assertions import assert_error


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
