"""``message/send`` against the real ``echo`` example agent, on both databases."""

from __future__ import annotations

import json
from typing import Any

from agentkeep.bus.base import START
from tests.acp_kit import Live

TEXT = "the quick  brown fox\njumps"


def user_text(text: str = TEXT) -> dict[str, Any]:
    return {"type": "text", "author": "user", "content": text}


async def stream_lines(live: Live, agent: str, **params: Any) -> list[dict[str, Any]]:
    body = {"jsonrpc": "2.0", "id": "s1", "method": "message/send", "params": params}
    async with live.http.stream("POST", f"/agents/name/{agent}/rpc", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        return [json.loads(line) async for line in r.aiter_lines() if line]


async def test_streamed_reply_repeats_the_text_and_is_stored(
    live: Live, example_agent: Any
) -> None:
    echo = await example_agent("sync")
    lines = await stream_lines(live, echo.name, content=user_text(), stream=True)
    assert all(line["id"] == "s1" and line["error"] is None for line in lines)
    updates = [line["result"] for line in lines]
    assert updates[0]["type"] == "start" and updates[-1]["type"] == "done"
    deltas = [u["delta"]["text_delta"] for u in updates if u["type"] == "delta"]
    assert len(deltas) > 1 and "".join(deltas) == TEXT
    parent = updates[-1]["parent_task_message"]
    assert parent["streaming_status"] == "DONE" and parent["content"]["content"] == TEXT
    assert all(u["parent_task_message"]["id"] == parent["id"] for u in updates)
    stored = await live.messages(parent["task_id"])
    assert [(m["content"]["author"], m["content"]["content"]) for m in stored] == [
        ("user", TEXT),
        ("agent", TEXT),
    ]
    assert stored[1]["streaming_status"] == "DONE"


async def test_updates_are_published_on_the_task_stream(live: Live, example_agent: Any) -> None:
    echo = await example_agent("sync")
    lines = await stream_lines(live, echo.name, content=user_text("a b"), stream=True)
    task_id = lines[0]["result"]["parent_task_message"]["task_id"]
    entries = await live.app.state.bus.read_after(task_id, START)
    published = [e.event["type"] for e in entries if e.event.get("type") != "task_updated"]
    # The user's message (full), then the relayed reply.
    assert published == ["full", "start", "delta", "delta", "done"]


async def test_non_streaming_returns_the_agent_messages(live: Live, example_agent: Any) -> None:
    echo = await example_agent("sync")
    body = await live.rpc(echo.name, "message/send", content=user_text(), task_name="chat-1")
    assert body["error"] is None
    [reply] = body["result"]
    assert reply["content"]["content"] == TEXT and reply["streaming_status"] == "DONE"
    again = await live.rpc(echo.name, "message/send", content=user_text("x"), task_name="chat-1")
    assert again["result"][0]["task_id"] == reply["task_id"]
    assert len(await live.messages(reply["task_id"])) == 4


async def test_finished_tasks_refuse_turns(live: Live, example_agent: Any) -> None:
    echo = await example_agent("sync")
    created = await live.rpc(echo.name, "task/create", name="done-1")
    task_id = created["result"]["id"]
    assert (await live.http.post(f"/tasks/{task_id}/complete")).status_code == 200
    before = len(echo.received())
    body = await live.rpc(echo.name, "message/send", content=user_text(), task_id=task_id)
    assert body["result"] is None
    assert body["error"]["message"] == (f"Task {task_id} is COMPLETED and cannot accept new turns.")
    assert len(echo.received()) == before
    assert await live.messages(task_id) == []


async def test_interrupted_task_resumes_on_next_turn(live: Live, example_agent: Any) -> None:
    echo = await example_agent("sync")
    task_id = (await live.rpc(echo.name, "task/create"))["result"]["id"]
    assert (await live.http.post(f"/tasks/{task_id}/interrupt")).status_code == 200
    body = await live.rpc(echo.name, "message/send", content=user_text(), task_id=task_id)
    assert body["error"] is None
    task = await live.task(task_id)
    assert task["status"] == "RUNNING" and task["status_reason"] == "Task resumed on next turn"


async def test_both_or_bad_params_are_422(live: Live, example_agent: Any) -> None:
    echo = await example_agent("sync")
    for params in (
        {"content": user_text(), "task_id": "a", "task_name": "b"},
        {"content": {"type": "text", "content": "no author"}},
        {"content": {"type": "nope", "author": "user"}},
    ):
        body = {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": params}
        r = await live.http.post(f"/agents/name/{echo.name}/rpc", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == 422


async def test_unknown_task_id_is_an_rpc_error(live: Live, example_agent: Any) -> None:
    echo = await example_agent("sync")
    body = await live.rpc(echo.name, "message/send", content=user_text(), task_id="nope")
    assert body["error"]["message"] == "Item with id 'nope' does not exist."


async def test_async_methods_are_refused_for_sync_agents(live: Live, example_agent: Any) -> None:
    echo = await example_agent("sync")
    body = await live.rpc(echo.name, "event/send", task_name="x", content=user_text())
    assert body["error"]["message"] == "Unsupported method: event/send for ACP type: sync"


async def test_task_params_apply_to_new_tasks_only(live: Live, example_agent: Any) -> None:
    echo = await example_agent("sync")
    body = await live.rpc(
        echo.name, "message/send", content=user_text(), task_name="tp", task_params={"v": 1}
    )
    task_id = body["result"][0]["task_id"]
    params = {"content": user_text(), "task_name": "tp", "task_params": {"v": 2}}
    await live.rpc(echo.name, "message/send", **params)
    assert (await live.task(task_id))["params"] == {"v": 1}
