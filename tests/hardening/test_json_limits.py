"""Values no layer below can hold are a 400 with the envelope, and change nothing.

Each case answered 500 before (issue 7, "No input gets a 500"): integers beyond 64 bits,
JSON nested hundreds of levels deep, lone surrogates, NaN, NUL characters, in any JSON
field of any body and in the JSON query values.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from agentkeep.api import nulguard
from agentkeep.domain import jsonlimits

JSON = {"content-type": "application/json"}
BIG = "18446744073709551616"  # 2**64, beyond both signed and unsigned 64 bits


def nested(levels: int, leaf: str = "1") -> str:
    return "[" * levels + leaf + "]" * levels


def bodies(value: str) -> list[tuple[str, str, str]]:
    """(method, path, raw body) placing raw JSON ``value`` in each kind of JSON field."""
    text = '{"type": "text", "author": "user", "content": "x"}'
    data = f'{{"type": "data", "author": "user", "data": {{"v": {value}}}}}'
    return [
        ("PUT", "/tasks/{task}", f'{{"task_metadata": {{"v": {value}}}}}'),
        ("PUT", "/tasks/{task}", f'{{"merge_params": {{"v": {value}}}}}'),
        ("POST", "/tasks/{task}/complete", f'{{"reason": "r", "extra": {value}}}'),
        ("POST", "/messages", f'{{"task_id": "{{task}}", "content": {data}}}'),
        ("POST", "/messages/batch", f'{{"task_id": "{{task}}", "contents": [{text}, {data}]}}'),
        (
            "POST",
            "/states",
            f'{{"task_id": "{{task}}", "agent_id": "a", "state": {{"v": {value}}}}}',
        ),
        (
            "POST",
            "/spans",
            f'{{"trace_id": "t", "name": "n", "start_time": "2024-01-01T00:00:00Z", '
            f'"data": {{"v": {value}}}}}',
        ),
        ("POST", "/tasks/{task}/stream/events", f'{{"type": "full", "content": {{"v": {value}}}}}'),
        (
            "POST",
            "/agents/register",
            f'{{"name": "x", "acp_url": "http://a", "registration_metadata": {{"v": {value}}}}}',
        ),
        ("PUT", "/tracker/{tracker}", f'{{"status": "s", "extra": {value}}}'),
    ]


CASES = [
    pytest.param(BIG, "integers must fit in 64 bits", id="int-2**64"),
    pytest.param("-" + BIG, "integers must fit in 64 bits", id="int--2**64"),
    pytest.param("9223372036854775808", "integers must fit in 64 bits", id="int-2**63"),
    pytest.param(nested(255), "nests more than 64 levels", id="depth-255"),
    pytest.param(nested(1000), "nested more than 64 levels", id="depth-1000"),
    pytest.param('"\\ud800"', "lone UTF-16 surrogates", id="lone-surrogate"),
    pytest.param('"a\\u0000b"', jsonlimits.NUL_MESSAGE, id="nul"),
    pytest.param("NaN", "NaN and Infinity", id="nan"),
]


async def _snapshot(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    task = (await client.get(f"/tasks/{task_id}")).json()
    messages = (await client.get("/messages", params={"task_id": task_id})).json()
    spans = (await client.get("/spans")).json()
    states = (await client.get("/states")).json()
    agents = (await client.get("/agents")).json()
    return {"task": task, "m": messages, "s": spans, "st": states, "a": agents}


@pytest.mark.parametrize(("value", "reason"), CASES)
async def test_json_values_no_layer_can_hold_are_400(
    client: httpx.AsyncClient, task_factory: Any, value: str, reason: str
) -> None:
    task = await task_factory(task_metadata={"keep": 1}, params={"p": 1})
    tracker = (await client.get("/tracker", params={"task_id": task["id"]})).json()[0]
    before = await _snapshot(client, task["id"])
    for method, path, raw in bodies(value):
        url = path.format(task=task["id"], tracker=tracker["id"])
        content = raw.replace("{task}", task["id"])
        r = await client.request(method, url, content=content.encode(), headers=JSON)
        assert r.status_code == 400, (method, path, r.text)
        body = r.json()
        assert set(body) == {"message", "code", "data"} and body["code"] == 400
        assert body["message"].startswith("Request body refused: ") and reason in body["message"]
    assert await _snapshot(client, task["id"]) == before


async def test_the_message_names_where_the_value_is(client: httpx.AsyncClient) -> None:
    raw = f'{{"task_metadata": {{"a": [0, {BIG}]}}}}'
    r = await client.put("/tasks/x", content=raw, headers=JSON)
    assert r.json()["message"] == (
        "Request body refused: task_metadata.a[1]: integers must fit in 64 bits "
        "(-9223372036854775808 to 9223372036854775807)."
    )


async def test_values_at_the_limits_are_stored_exactly(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    deep = orjson.loads(nested(60))
    metadata = {"max": 2**63 - 1, "min": -(2**63), "deep": deep, "s": "\u00e9\U0001f600"}
    r = await client.put(f"/tasks/{task['id']}", json={"task_metadata": metadata})
    assert r.status_code == 200, r.text
    assert (await client.get(f"/tasks/{task['id']}")).json()["task_metadata"] == metadata


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/tasks", "task_metadata", f'{{"n": {BIG}}}'),
        ("/tasks", "task_metadata", '{"n": ' + nested(300) + "}"),
        ("/tasks", "task_metadata", '{"n": ' + nested(9) + "}"),
        ("/tasks", "task_metadata", '{"n": "\\ud800"}'),
        ("/tasks", "task_metadata", '{"n": NaN}'),
        ("/tasks", "task_metadata", '{"n": "' + "x" * 5000 + '"}'),
        ("/messages", "filters", f'{{"content": {{"n": {BIG}}}}}'),
        ("/messages", "filters", '{"content": {"n": ' + nested(300) + "}}"),
        ("/messages", "filters", '[{"content": {"t": "' + "x" * 5000 + '"}}]'),
    ],
)
async def test_json_query_values_beyond_the_limits_are_400(
    client: httpx.AsyncClient, task_factory: Any, path: str, name: str, value: str
) -> None:
    task = await task_factory()
    r = await client.get(path, params={name: value, "task_id": task["id"]})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == 400 and r.json()["message"].startswith(name)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/tasks/a%00b"),
        ("GET", "/tasks/name/a%00b"),
        ("GET", "/agents/name/a%00b"),
        ("GET", "/tasks?agent_name=a%00b"),
        ("GET", "/messages?task_id=a%00b"),
        ("POST", "/tasks/a%00b/complete"),
        ("GET", "/tasks/a%00b/stream"),
    ],
)
async def test_nul_in_a_url_is_the_same_400_on_both_databases(
    client: httpx.AsyncClient, method: str, url: str
) -> None:
    r = await client.request(method, url)
    assert r.status_code == 400
    assert r.json() == {"message": nulguard.MESSAGE, "code": 400, "data": None}


async def test_nul_in_a_body_string_is_refused_not_stored(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    r = await client.post(f"/tasks/{task['id']}/complete", json={"reason": "a\u0000b"})
    assert r.status_code == 400
    assert r.json()["message"] == f"Request body refused: reason: {jsonlimits.NUL_MESSAGE}."
    assert (await client.get(f"/tasks/{task['id']}")).json()["status"] == "RUNNING"


# A lone surrogate is not valid JSON to the envelope's parser (422, as any malformed
# envelope); what parses but cannot be held is refused like a REST body (400).
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ('{"name": "n", "params": {"v": 18446744073709551616}}', 400),
        ('{"name": "n", "params": {"v": ' + nested(100) + "}}", 400),
        ('{"name": "n", "task_metadata": {"v": "a\\u0000b"}}', 400),
        ('{"name": "n\\ud800"}', 422),
    ],
)
async def test_json_rpc_bodies_pass_the_same_check(
    client: httpx.AsyncClient, agent_factory: Any, params: str, code: int
) -> None:
    agent = await agent_factory()
    raw = f'{{"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {params}}}'
    r = await client.post(f"/agents/{agent['id']}/rpc", content=raw, headers=JSON)
    assert r.status_code == code and set(r.json()) == {"message", "code", "data"}, r.text
    assert (await client.get("/tasks")).json() == []
