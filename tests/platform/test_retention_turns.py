"""Turns on a cleaned task are refused until it is rehydrated [fix]: new turns would mix
with a later restore. The refusal stores nothing; REST writes stay allowed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson

from tests.acp_kit import RawAgent, http_response, rpc_ok, send
from tests.platform.retention_kit import export, finish, task


async def _ack(request: dict[str, Any], writer: Any) -> None:
    await send(writer, http_response(rpc_ok(request, {"status": "ok"})))


async def rpc(client: httpx.AsyncClient, agent: str, method: str, **params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    r = await client.post(f"/agents/name/{agent}/rpc", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def register(client: httpx.AsyncClient, acp_url: str, acp_type: str) -> str:
    name = f"turns-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "acp_url": acp_url, "acp_type": acp_type}
    assert (await client.post("/agents/register", json=body)).status_code == 200
    return name


async def cleaned_failed_task(client: httpx.AsyncClient, agent: str) -> tuple[str, bytes]:
    task_id = str((await rpc(client, agent, "task/create"))["result"]["id"])
    text = {"type": "text", "author": "user", "content": "before"}
    assert (await client.post("/messages", json={"task_id": task_id, "content": text})).is_success
    await finish(client, task_id, "fail")  # FAILED still takes turns; cleaned must not
    snapshot = await export(client, task_id)
    r = await client.post(f"/tasks/{task_id}/clean", json={"force": True})
    assert r.status_code == 200, r.text
    return task_id, snapshot


async def test_turns_on_a_cleaned_task_are_refused_until_rehydrated(
    client: httpx.AsyncClient,
) -> None:
    content = {"type": "text", "author": "user", "content": "hi"}
    async with RawAgent(_ack) as raw:
        greeter = await register(client, raw.url, "async")
        task_id, snapshot = await cleaned_failed_task(client, greeter)
        refused = f"Task {task_id} has been cleaned; rehydrate it first."
        row = await task(client, task_id)
        sent = await rpc(client, greeter, "event/send", task_id=task_id, content=content)
        assert sent["result"] is None and sent["error"]["message"] == refused
        assert raw.calls[-1]["method"] == "task/create"  # the agent was not told
        echo = await register(client, "http://127.0.0.1:9", "sync")
        said = await rpc(client, echo, "message/send", task_id=task_id, content=content)
        assert said["result"] is None and said["error"]["message"] == refused
        assert await task(client, task_id) == row
        assert orjson.loads(await export(client, task_id))["messages"] == []
        agent_id = (await client.get(f"/agents/name/{greeter}")).json()["id"]
        events = await client.get("/events", params={"task_id": task_id, "agent_id": agent_id})
        assert events.status_code == 200 and events.json() == []

        body = orjson.loads(snapshot)
        assert (await client.post(f"/tasks/{task_id}/rehydrate", json=body)).status_code == 204
        sent = await rpc(client, greeter, "event/send", task_id=task_id, content=content)
        assert sent["error"] is None and sent["result"]["task_id"] == task_id
        assert raw.calls[-1]["method"] == "event/send"
