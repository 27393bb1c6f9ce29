"""Agents that are down, slow, or break the protocol: a clear error, never a 500 or a hang,
and no change beyond the spec's (FAILED by compare-and-set, actor ``system:acp``)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agentkeep.settings import Settings
from tests.acp.conftest import short_timeouts
from tests.acp_kit import (
    STREAM_HEAD,
    Live,
    RawAgent,
    chunk,
    free_port,
    http_response,
    rpc_ok,
    send,
)


@pytest.fixture
def acp_settings(db_url: str) -> Settings:
    # These agents time out on purpose: wait one second, not the default fifteen.
    return short_timeouts(db_url)


async def never(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    await asyncio.Event().wait()  # holds the connection open until the test ends


async def garbage(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    await send(writer, http_response(b"<html>hello</html>", ctype="text/html"))


async def wrong_id(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": "x", "result": {}}).encode()
    await send(writer, http_response(body))


async def http_500(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    await send(writer, http_response(b"boom", status="500 Internal Server Error"))


async def rpc_failure(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    error = {"code": -32603, "message": "agent exploded"}
    body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": None, "error": error})
    await send(writer, http_response(body.encode()))


async def ok(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    await send(writer, http_response(rpc_ok(request, {"status": "ok"})))


BAD = [
    pytest.param(never, "timed out", id="timeout"),
    pytest.param(garbage, "not JSON", id="garbage"),
    pytest.param(wrong_id, "answered JSON-RPC id 'x'", id="wrong-id"),
    pytest.param(http_500, "answered HTTP 500", id="http-500"),
    pytest.param(rpc_failure, "returned an error: agent exploded", id="rpc-error"),
]


async def test_down_agent_fails_the_task_and_a_later_forward_restores_it(live: Live) -> None:
    agent = await live.register(f"http://127.0.0.1:{free_port()}", "async")
    body = await live.rpc(agent["name"], "task/create", name="t-down")
    assert body["result"] is None
    assert body["error"]["message"] == f"Agent {agent['name']} is unreachable."
    task = (await live.http.get("/tasks/name/t-down")).json()
    assert task["status"] == "FAILED" and task["status_reason"] == body["error"]["message"]
    assert (await live.history(task["id"]))[-1]["actor"] == "system:acp"
    async with RawAgent(ok) as good:
        await live.register(good.url, "async", agent["name"])
        healed = await live.rpc(agent["name"], "task/create", name="t-down")
    assert healed["result"]["status"] == "RUNNING"
    assert healed["result"]["status_reason"] == "Task forwarded to ACP server"


@pytest.mark.parametrize(("reply", "message"), BAD)
async def test_bad_answers_to_task_create(live: Live, reply: Any, message: str) -> None:
    async with RawAgent(reply) as raw:
        agent = await live.register(raw.url, "async")
        body = await live.rpc(agent["name"], "task/create", name="t-bad")
    assert message in body["error"]["message"], body
    assert (await live.http.get("/tasks/name/t-bad")).json()["status"] == "FAILED"


async def test_failed_forward_keeps_a_user_failure(live: Live) -> None:
    """A task someone else failed is not healed by a later successful forward."""
    async with RawAgent(ok) as raw:
        agent = await live.register(raw.url, "async")
        task = (await live.rpc(agent["name"], "task/create", name="t-f"))["result"]
        await live.http.post(f"/tasks/{task['id']}/fail")
        again = await live.rpc(agent["name"], "task/create", name="t-f")
    assert again["result"]["status"] == "FAILED"
    assert again["result"]["status_reason"] == "Task failed"


@pytest.mark.parametrize(("reply", "message"), BAD[:3])
async def test_failed_event_forward_keeps_the_event(live: Live, reply: Any, message: str) -> None:
    async with RawAgent(ok) as good:
        agent = await live.register(good.url, "async")
        task = (await live.rpc(agent["name"], "task/create"))["result"]
    async with RawAgent(reply) as raw:
        await live.register(raw.url, "async", agent["name"])
        body = await live.rpc(agent["name"], "event/send", task_id=task["id"])
    assert message in body["error"]["message"]
    events = await live.http.get("/events", params={"task_id": task["id"], "agent_id": agent["id"]})
    assert len(events.json()) == 1
    assert (await live.task(task["id"]))["status"] == "RUNNING"


@pytest.mark.parametrize(("reply", "message"), BAD[:3])
async def test_failed_cancel_forward_changes_nothing(live: Live, reply: Any, message: str) -> None:
    async with RawAgent(ok) as good:
        agent = await live.register(good.url, "async")
        task = (await live.rpc(agent["name"], "task/create"))["result"]
    async with RawAgent(reply) as raw:
        await live.register(raw.url, "async", agent["name"])
        body = await live.rpc(agent["name"], "task/cancel", task_id=task["id"])
    assert message in body["error"]["message"]
    after = await live.task(task["id"])
    assert after["status"] == "RUNNING" and after["version"] == task["version"]


def ndjson(request: dict[str, Any], *updates: dict[str, Any]) -> bytes:
    return b"".join(chunk(rpc_ok(request, u) + b"\n") for u in updates)


START = {"type": "start", "index": 0, "content": {"type": "text", "author": "agent", "content": ""}}


def delta(piece: str, index: int = 0) -> dict[str, Any]:
    return {"type": "delta", "index": index, "delta": {"type": "text", "text_delta": piece}}


async def broken_stream(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    await send(writer, STREAM_HEAD + ndjson(request, START, delta("half ")))
    # Cut the connection mid-body: no terminating chunk.


async def stalled_stream(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    await send(writer, STREAM_HEAD + ndjson(request, START, delta("half ")))
    await asyncio.Event().wait()


async def delta_first(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    body = ndjson(request, delta("a "), delta("b"), {"type": "done", "index": 0}) + b"0\r\n\r\n"
    await send(writer, STREAM_HEAD + body)


async def stream_lines(live: Live, agent: str, **params: Any) -> list[dict[str, Any]]:
    body = {"jsonrpc": "2.0", "id": 3, "method": "message/send", "params": params}
    async with live.http.stream("POST", f"/agents/name/{agent}/rpc", json=body) as r:
        assert r.status_code == 200
        return [json.loads(line) async for line in r.aiter_lines() if line]


TEXT = {"type": "text", "author": "user", "content": "hi"}


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        pytest.param(broken_stream, "broke the connection", id="broken"),
        pytest.param(stalled_stream, "timed out", id="stalled"),
    ],
)
async def test_stream_breaking_halfway(live: Live, reply: Any, message: str) -> None:
    async with RawAgent(reply) as raw:
        agent = await live.register(raw.url, "sync")
        lines = await stream_lines(live, agent["name"], content=TEXT, stream=True, task_name="s")
    assert [line["result"]["type"] for line in lines[:-1]] == ["start", "delta"]
    assert lines[-1]["result"] is None and message in lines[-1]["error"]["message"]
    task = (await live.http.get("/tasks/name/s")).json()
    assert task["status"] == "FAILED"
    # What arrived is kept, finished: no message is left IN_PROGRESS forever.
    reply_message = (await live.messages(task["id"]))[-1]
    assert reply_message["content"]["content"] == "half "
    assert reply_message["streaming_status"] == "DONE"


async def test_agent_failure_resumes_on_next_turn(live: Live) -> None:
    async with RawAgent(broken_stream) as raw:
        agent = await live.register(raw.url, "sync")
        await stream_lines(live, agent["name"], content=TEXT, stream=True, task_name="r")
    async with RawAgent(delta_first) as raw:
        await live.register(raw.url, "sync", agent["name"])
        body = await live.rpc(agent["name"], "message/send", content=TEXT, task_name="r")
    assert body["error"] is None
    task = (await live.http.get("/tasks/name/r")).json()
    assert task["status"] == "RUNNING" and task["status_reason"] == "Task resumed on next turn"


async def test_delta_before_start_gets_a_synthesised_start(live: Live) -> None:
    async with RawAgent(delta_first) as raw:
        agent = await live.register(raw.url, "sync")
        lines = await stream_lines(live, agent["name"], content=TEXT, stream=True)
    types = [line["result"]["type"] for line in lines]
    assert types == ["start", "delta", "delta", "done"]
    assert lines[-1]["result"]["parent_task_message"]["content"]["content"] == "a b"


@pytest.mark.parametrize(("reply", "message"), BAD)
async def test_bad_answers_to_message_send(live: Live, reply: Any, message: str) -> None:
    async with RawAgent(reply) as raw:
        agent = await live.register(raw.url, "sync")
        body = await live.rpc(agent["name"], "message/send", content=TEXT, task_name="m")
    assert message in body["error"]["message"], body
    assert (await live.http.get("/tasks/name/m")).json()["status"] == "FAILED"


async def test_forwarded_headers(live: Live) -> None:
    async with RawAgent(ok) as raw:
        agent = await live.register(raw.url, "async")
        headers = {
            "x-custom": "yes",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "x-api-key": "caller-secret",
            "authorization": "Bearer caller-secret",
            "cookie": "agentkeep_api_key=caller-secret",
            "x-acting-user-id": "mallory",
            "x-selected-account-id": "acct",
            "x-request-id": "req-42",
        }
        body = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}
        r = await live.http.post(f"/agents/name/{agent['name']}/rpc", json=body, headers=headers)
        assert r.json()["error"] is None
    [sent] = raw.headers
    assert sent["x-custom"] == "yes" and sent["traceparent"] == headers["traceparent"]
    assert sent["x-agent-api-key"] == agent["agent_api_key"]
    assert sent["x-request-id"] == "req-42"
    blocked = ("x-api-key", "authorization", "cookie", "x-acting-user-id", "x-selected-account-id")
    assert not set(blocked) & set(sent)
    [call] = raw.calls
    assert call["id"].startswith(f"task/create-{r.json()['result']['id']}-")


async def invalid_content(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    bogus = {"type": "start", "index": 0, "content": {"type": "hologram", "author": "agent"}}
    await send(writer, STREAM_HEAD + ndjson(request, bogus) + b"0\r\n\r\n")


async def test_invalid_message_content_is_a_protocol_error(live: Live) -> None:
    async with RawAgent(invalid_content) as raw:
        agent = await live.register(raw.url, "sync")
        lines = await stream_lines(live, agent["name"], content=TEXT, stream=True, task_name="v")
    assert lines[-1]["result"] is None
    assert "not a valid message" in lines[-1]["error"]["message"]
    task = (await live.http.get("/tasks/name/v")).json()
    assert task["status"] == "FAILED"
    # Only the user's message was stored; nothing unrenderable reached the conversation.
    assert [m["content"]["author"] for m in await live.messages(task["id"])] == ["user"]


async def test_agent_content_gets_the_same_defaults_as_rest(live: Live) -> None:
    async with RawAgent(delta_first) as raw:
        agent = await live.register(raw.url, "sync")
        await stream_lines(live, agent["name"], content=TEXT, stream=True, task_name="d")
    task = (await live.http.get("/tasks/name/d")).json()
    stored = await live.messages(task["id"])
    assert {m["content"]["style"] for m in stored} == {"static"}
