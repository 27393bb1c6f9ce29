"""Spans: client-supplied ids, duplicates, PATCH, GET, list, payload shapes, errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from agentex.types import Span

from tests.assertions import assert_error

START = "2025-03-01T10:00:00+00:00"


async def create(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(
        "/spans", json={"trace_id": "tr", "name": "step", "start_time": START, **body}
    )


@pytest.mark.parametrize(
    "payload",
    [{"a": 1}, [{"a": 1}, {"b": [2]}], [], None],
)
async def test_payloads_are_objects_lists_or_null(client: httpx.AsyncClient, payload: Any) -> None:
    r = await create(client, input=payload, output=payload, data=payload)
    assert r.status_code == 200, r.text
    span = Span.model_validate(r.json())
    assert span.input == payload and span.output == payload and span.data == payload
    assert span.start_time == datetime(2025, 3, 1, 10, tzinfo=UTC)


async def test_client_supplied_id_and_duplicate(client: httpx.AsyncClient) -> None:
    sid = f"span-{uuid.uuid4()}"
    r = await create(client, id=sid, input={"q": 1})
    assert r.status_code == 200 and r.json()["id"] == sid
    r = await create(client, id=sid, input={"q": 2})
    assert_error(r, 400, "Item already exists. Please check all unique constraints and try again.")
    assert (await client.get(f"/spans/{sid}")).json()["input"] == {"q": 1}
    generated = (await create(client)).json()["id"]
    assert generated and generated != sid


async def test_patch_changes_only_given_fields(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    sid = (await create(client, input={"q": 1}, task_id=task["id"])).json()["id"]
    r = await client.patch(
        f"/spans/{sid}",
        json={"end_time": "2025-03-01T11:00:00+01:00", "output": [{"r": 1}], "x": 1},
    )
    assert r.status_code == 200, r.text
    span = Span.model_validate(r.json())
    assert span.end_time == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert span.output == [{"r": 1}] and span.input == {"q": 1} and span.task_id == task["id"]
    r = await client.patch(f"/spans/{sid}", json={"output": None})
    assert r.status_code == 200 and r.json()["output"] is None
    assert (await client.patch(f"/spans/{sid}", json={})).json() == r.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        # Well-typed but clearing a required field: refused by the route (400).
        ({"name": None}, 400),
        ({"trace_id": None}, 400),
        ({"start_time": None}, 400),
        # Wrong types: refused by validation (422).
        ({"input": [1, 2]}, 422),
        ({"data": "text"}, 422),
        ({"end_time": "soon"}, 422),
    ],
)
async def test_bad_patch_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], code: int
) -> None:
    before = (await create(client, input={"q": 1})).json()
    r = await client.patch(f"/spans/{before['id']}", json=body)
    assert_error(r, code)
    assert (await client.get(f"/spans/{before['id']}")).json() == before


@pytest.mark.parametrize(
    "body",
    [
        {"input": [1]},
        {"output": "x"},
        {"data": [{"a": 1}, 2]},
        {"start_time": None},
        {"name": None},
        {"trace_id": ""},
        {"id": ""},
    ],
)
async def test_bad_create_is_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert_error(await create(client, **body), 422)
    assert (await client.get("/spans")).json() == []


async def test_unknown_span_is_404(client: httpx.AsyncClient) -> None:
    missing = str(uuid.uuid4())
    assert_error(
        await client.get(f"/spans/{missing}"), 404, f"Item with id '{missing}' does not exist."
    )
    assert_error(await client.patch(f"/spans/{missing}", json={"name": "x"}), 404)


async def test_list_by_trace_and_task(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory()
    a = (await create(client, trace_id="t1", start_time="2025-01-01T00:00:00Z")).json()
    b = (
        await create(client, trace_id="t1", task_id=task["id"], start_time="2025-01-02T00:00:00Z")
    ).json()
    c = (await create(client, trace_id="t2", task_id=task["id"])).json()

    async def ids(**params: Any) -> list[str]:
        r = await client.get("/spans", params=params)
        assert r.status_code == 200, r.text
        return [Span.model_validate(s).id for s in r.json()]

    assert await ids(trace_id="t1") == [a["id"], b["id"]]
    assert await ids(trace_id="t1", order_direction="desc") == [b["id"], a["id"]]
    assert set(await ids(task_id=task["id"])) == {b["id"], c["id"]}
    assert await ids(trace_id="t1", task_id=task["id"]) == [b["id"]]
    assert await ids(trace_id="t1", limit=1, page_number=2) == [b["id"]]
    for params, code in (({"limit": 1001}, 422), ({"order_by": "input"}, 400)):
        assert_error(await client.get("/spans", params=params), code)
