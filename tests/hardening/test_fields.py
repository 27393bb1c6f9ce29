"""Per-field limits, client times beyond UTC's range, and If-Match values: each a clear 4xx
that changes nothing (they answered 500, or were stored whatever their size)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from agentkeep.domain import limits
from agentkeep.store import jsonmatch

TEN_MB = "x" * (10 * 1024 * 1024)


def assert_refused(r: httpx.Response, code: int, fragment: str) -> None:
    assert r.status_code == code, r.text[:500]
    body = r.json()
    assert set(body) == {"message", "code", "data"} and body["code"] == code
    assert fragment in body["message"], body["message"]


async def test_a_10_mb_reason_is_422_and_the_task_keeps_running(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    r = await client.post(f"/tasks/{task['id']}/complete", json={"reason": TEN_MB})
    assert_refused(r, 422, f"at most {limits.MAX_REASON_CHARS} characters")
    after = (await client.get(f"/tasks/{task['id']}")).json()
    assert (after["status"], after["version"]) == ("RUNNING", 1)


@pytest.mark.parametrize(
    ("method", "path", "body", "fragment"),
    [
        ("POST", "/spans", {"trace_id": "t", "name": TEN_MB}, "at most 255 characters"),
        ("PUT", "/tracker/{tracker}", {"status_reason": TEN_MB}, "at most 4096 characters"),
        ("PUT", "/tasks/{task}", {"task_metadata": {"x": "y" * 70_000}}, "the limit is 65536"),
        (
            "POST",
            "/agents/register",
            {"name": "big", "acp_url": "http://a", "description": TEN_MB},
            "at most 8192 characters",
        ),
        (
            "POST",
            "/agents/register",
            {"name": "big", "acp_url": "http://a", "registration_metadata": {"x": TEN_MB}},
            "the limit is 65536",
        ),
    ],
)
async def test_oversized_fields_are_422(
    client: httpx.AsyncClient,
    task_factory: Any,
    method: str,
    path: str,
    body: dict[str, Any],
    fragment: str,
) -> None:
    task = await task_factory(task_metadata={"keep": 1})
    tracker = (await client.get("/tracker", params={"task_id": task["id"]})).json()[0]
    body = {"start_time": "2024-01-01T00:00:00Z", **body} if path == "/spans" else body
    url = path.format(task=task["id"], tracker=tracker["id"])
    assert_refused(await client.request(method, url, json=body), 422, fragment)
    after = (await client.get(f"/tasks/{task['id']}")).json()
    assert (after["version"], after["task_metadata"]) == (1, {"keep": 1})
    assert (await client.get("/spans")).json() == []
    assert [a["name"] for a in (await client.get("/agents")).json()] != ["big"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/messages", {"created_at": "9999-12-31T23:59:59-14:00"}),
        ("/messages", {"created_at": "0001-01-01T00:00:00+14:00"}),
        ("/messages/batch", {"created_at": "9999-12-31T23:59:59.999-00:00"}),
        ("/spans", {"start_time": "0001-01-01T00:00:00+14:00"}),
        ("/spans", {"start_time": "2024-01-01T00:00:00Z", "end_time": "9999-12-31T23:00:00-14:00"}),
    ],
)
async def test_times_beyond_utc_range_are_422(
    client: httpx.AsyncClient, task_factory: Any, path: str, body: dict[str, Any]
) -> None:
    task = await task_factory()
    content = {"type": "text", "author": "user", "content": "x"}
    full = {
        "/messages": {"task_id": task["id"], "content": content},
        "/messages/batch": {"task_id": task["id"], "contents": [content, content]},
        "/spans": {"trace_id": "t", "name": "n"},
    }[path]
    r = await client.post(path, json={**full, **body})
    assert_refused(r, 422, "between 0001-01-02 and 9999-12-30 in UTC")
    assert (await client.get("/messages", params={"task_id": task["id"]})).json() == []
    assert (await client.get("/spans")).json() == []


async def test_a_cursor_beyond_utc_range_is_400(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    raw = orjson.dumps({"c": "9999-12-31T23:59:59-14:00", "i": "m"})
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    r = await client.get("/messages/paginated", params={"task_id": task["id"], "cursor": cursor})
    assert_refused(r, 400, "Invalid cursor")


async def test_a_time_with_an_offset_is_stored_in_utc(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    content = {"type": "text", "author": "user", "content": "x"}
    r = await client.post(
        "/messages",
        json={"task_id": task["id"], "content": content, "created_at": "2024-06-01T02:00+02:00"},
    )
    assert r.status_code == 200 and r.json()["created_at"].startswith("2024-06-01T00:00:00")


# Header values are Latin-1: "\u00b2" (superscript two) passes ``str.isdigit()``.
@pytest.mark.parametrize(
    "value", ['"\u00b2"', "\u00b9", '"99999999999999999999999"', '"2147483648"', "9" * 5000]
)
@pytest.mark.parametrize("route", ["/tasks/{id}/complete", "/tasks/{id}"])
async def test_if_match_beyond_ascii_versions_is_400(
    client: httpx.AsyncClient, task_factory: Any, value: str, route: str
) -> None:
    task = await task_factory()
    method = "POST" if route.endswith("complete") else "PUT"
    r = await client.request(
        method,
        route.format(id=task["id"]),
        json={"task_metadata": {"a": 1}} if method == "PUT" else {},
        headers={"If-Match": value.encode("latin-1")},
    )
    assert_refused(r, 400, "If-Match must be a quoted task version")
    after = (await client.get(f"/tasks/{task['id']}")).json()
    assert (after["status"], after["version"]) == ("RUNNING", 1)


async def test_if_match_at_the_largest_version_is_a_plain_412(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    r = await client.post(f"/tasks/{task['id']}/complete", headers={"If-Match": '"2147483647"'})
    assert_refused(r, 412, "does not match If-Match")


async def _assert_filters_match(
    client: httpx.AsyncClient, task_id: str, cases: dict[str, bool]
) -> None:
    """Each ``task_metadata`` filter lists the task exactly when it is expected to."""
    for flt, expected in cases.items():
        r = await client.get("/tasks", params={"task_metadata": flt})
        assert r.status_code == 200, r.text
        assert [t["id"] for t in r.json()] == ([task_id] if expected else []), flt


async def test_array_containment_matches_postgres_semantics_on_each_database(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    big = list(range(8000))
    task = await task_factory(task_metadata={"tags": ["a", 1, True, {"k": [2]}], "ids": big})
    cases = {
        '{"tags": ["a"]}': True,
        '{"tags": [1.0, "a"]}': True,
        '{"tags": [true]}': True,
        '{"tags": [{"k": [2]}]}': True,
        '{"tags": [2]}': False,
        '{"tags": [false]}': False,
        '{"tags": ["1"]}': False,
        '{"ids": [7999, 0, 4000]}': True,
        '{"ids": [8000]}': False,
    }
    await _assert_filters_match(client, task["id"], cases)


async def test_scalar_filters_match_postgres_semantics_on_each_database(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    # SQLite narrows candidates with json_extract before the exact check: neither may
    # change an answer, so Postgres's ``@>`` is the oracle for both databases.
    meta = {"s": "x", "n": 1, "f": 1.5, "b": True, "z": 0, "nul": None, "big": 2**60, "u": "é"}
    task = await task_factory(task_metadata=meta)
    cases = {
        '{"s": "x"}': True,
        '{"s": "y"}': False,
        '{"n": 1.0}': True,
        '{"n": true}': False,
        '{"n": "1"}': False,
        '{"b": true}': True,
        '{"b": 1}': False,
        '{"z": false}': False,
        '{"f": 1.5}': True,
        '{"nul": null}': True,
        '{"missing": null}': False,
        '{"big": 1152921504606846976}': True,
        '{"u": "é"}': True,
        '{"s": "x", "n": 2}': False,
        '{"s": "x", "b": true, "n": 1}': True,
        '{"we ird\\"key": 1}': False,
    }
    await _assert_filters_match(client, task["id"], cases)


async def test_a_filter_over_its_byte_limit_is_400(client: httpx.AsyncClient) -> None:
    flt = orjson.dumps({"ids": list(range(2000))}).decode()
    r = await client.get("/tasks", params={"task_metadata": flt})
    assert_refused(r, 400, f"a filter may have at most {jsonmatch.MAX_FILTER_BYTES}")
