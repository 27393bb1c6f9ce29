"""``AgentClient`` over ``httpx.MockTransport``: envelope, ids, answers that break the rules.

The transport is the seam; the client is ours and runs unmodified. Real agent processes
cover the rest (test_acp_bad_agents.py, test_acp_turns.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agentkeep import errors
from agentkeep.acp.client import AgentClient, AgentTarget, forwarded_headers

TARGET = AgentTarget("a1", "http://agent.test/", "k" * 64)


def client(handler: Callable[[httpx.Request], httpx.Response]) -> AgentClient:
    return AgentClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def echo_id(request: httpx.Request, result: Any = "ok") -> httpx.Response:
    rpc_id = json.loads(request.content)["id"]
    return httpx.Response(200, json={"jsonrpc": "2.0", "id": rpc_id, "result": result})


async def test_envelope_headers_and_unique_ids() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return echo_id(request)

    c = client(handler)
    for _ in range(2):
        assert await c.call(TARGET, "task/create", {"a": 1}, task_id="t1", request_id="r1") == "ok"
    bodies = [json.loads(r.content) for r in seen]
    assert str(seen[0].url) == "http://agent.test/api"
    assert bodies[0]["jsonrpc"] == "2.0" and bodies[0]["method"] == "task/create"
    assert bodies[0]["params"] == {"a": 1}
    assert bodies[0]["id"] != bodies[1]["id"] and bodies[0]["id"].startswith("task/create-t1-")
    assert seen[0].headers["x-agent-api-key"] == TARGET.api_key
    assert seen[0].headers["x-request-id"] == "r1"


def test_forwarded_headers_filter() -> None:
    incoming = {
        "X-Trace-Me": "1",
        "baggage": "b",
        "x-api-key": "s",
        "x-agent-api-key": "s",
        "authorization": "s",
        "cookie": "s",
        "x-acting-user-email": "s",
        "x-acting-as-agent": "s",
        "accept": "*/*",
    }
    assert forwarded_headers(incoming) == {"x-trace-me": "1", "baggage": "b"}


async def test_a_caller_cannot_override_the_agent_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return echo_id(request)

    forged = {"x-agent-api-key": "forged", "x-request-id": "forged"}
    await client(handler).call(TARGET, "m", {}, task_id="t", forwarded=forged, request_id="r")
    assert seen[0].headers["x-agent-api-key"] == TARGET.api_key
    assert seen[0].headers["x-request-id"] == "r"


def ndjson(request: httpx.Request, *results: Any, rpc_id: Any = None) -> httpx.Response:
    real_id = json.loads(request.content)["id"] if rpc_id is None else rpc_id
    lines = [json.dumps({"jsonrpc": "2.0", "id": real_id, "result": r}) for r in results]
    return httpx.Response(200, content="\n\n".join(lines).encode())


async def test_stream_yields_each_line() -> None:
    stream = client(lambda r: ndjson(r, {"n": 1}, {"n": 2})).stream(TARGET, "m", {}, task_id="t")
    assert [r async for r in stream] == [{"n": 1}, {"n": 2}]


async def test_stream_with_a_wrong_id_is_a_protocol_error() -> None:
    stream = client(lambda r: ndjson(r, {"n": 1}, rpc_id="other")).stream(
        TARGET, "m", {}, task_id="t"
    )
    with pytest.raises(errors.AgentProtocolError, match="expected 'm-t-"):
        [r async for r in stream]


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (httpx.Response(200, content=b"[1, 2]"), errors.AgentProtocolError, "not a JSON-RPC"),
        (httpx.Response(200, content=b"{"), errors.AgentProtocolError, "not JSON"),
        (httpx.Response(502, content=b"bad gateway"), errors.AgentProtocolError, "HTTP 502"),
    ],
)
async def test_bad_answers(response: httpx.Response, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        await client(lambda r: response).call(TARGET, "m", {}, task_id="t")


async def test_transport_errors_are_ours() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(errors.AgentUnavailable, match="a1 is unreachable"):
        await client(refuse).call(TARGET, "m", {}, task_id="t")


async def test_an_endless_line_is_refused() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=b"x" * 100))
    c = AgentClient(httpx.AsyncClient(transport=transport), max_response_bytes=10)
    with pytest.raises(errors.AgentProtocolError, match="endless line"):
        [r async for r in c.stream(TARGET, "m", {}, task_id="t")]
    with pytest.raises(errors.AgentProtocolError, match="too much"):
        await c.call(TARGET, "m", {}, task_id="t")
