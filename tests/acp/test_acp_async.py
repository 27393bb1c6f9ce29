"""Async agents: ``task/create`` forwarding, ``event/send``, cancels, against ``greeter``."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.acp_kit import AgentProcess, Live


def text(content: str) -> dict[str, Any]:
    return {"type": "text", "author": "user", "content": content}


def methods(agent: AgentProcess) -> list[str]:
    return [call["method"] for call in agent.received()]


async def agent_key(live: Live, agent: AgentProcess) -> str:
    """Registration is idempotent: registering again as the agent returns its one key."""
    return str((await live.register(agent.url, "async", agent.name))["agent_api_key"])


async def test_create_forwards_after_commit_and_agent_calls_back(
    live: Live, example_agent: Any
) -> None:
    greeter = await example_agent("async")
    body = await live.rpc(greeter.name, "task/create", name="t-1", params={"a": 1})
    task = body["result"]
    assert body["error"] is None and task["status"] == "RUNNING"
    # The greeting was written over REST while the server waited for the forward: no lock
    # or transaction was held across the call, and the task was visible to the agent.
    [greeting] = await live.messages(task["id"])
    assert greeting["content"]["content"].startswith("Hello!")
    [call] = greeter.received()
    assert call["method"] == "task/create" and call["params"]["params"] == {"a": 1}


async def test_event_send_stores_forwards_and_agent_replies(live: Live, example_agent: Any) -> None:
    greeter = await example_agent("async")
    task_id = (await live.rpc(greeter.name, "task/create"))["result"]["id"]
    body = await live.rpc(greeter.name, "event/send", task_id=task_id, content=text("hi"))
    event = body["result"]
    assert body["error"] is None and event["task_id"] == task_id
    assert isinstance(event["sequence_id"], int)
    replies = [m["content"]["content"] for m in await live.messages(task_id)]
    assert "You said: hi" in replies
    trackers = (await live.http.get("/tracker", params={"task_id": task_id})).json()
    assert [t["last_processed_event_id"] for t in trackers] == [event["id"]]


async def test_event_send_resumes_interrupted_and_refuses_finished(
    live: Live, example_agent: Any
) -> None:
    greeter = await example_agent("async")
    task_id = (await live.rpc(greeter.name, "task/create", name="ev-1"))["result"]["id"]
    await live.http.post(f"/tasks/{task_id}/interrupt")
    assert (await live.rpc(greeter.name, "event/send", task_name="ev-1"))["error"] is None
    assert (await live.task(task_id))["status"] == "RUNNING"
    await live.http.post(f"/tasks/{task_id}/terminate")
    body = await live.rpc(greeter.name, "event/send", task_id=task_id, content=text("late"))
    assert body["error"]["message"] == f"Task {task_id} is TERMINATED and cannot accept new turns."
    assert methods(greeter).count("event/send") == 1


async def test_rest_cancel_reaches_the_agent(live: Live, example_agent: Any) -> None:
    greeter = await example_agent("async")
    task_id = (await live.rpc(greeter.name, "task/create"))["result"]["id"]
    assert (await live.http.post(f"/tasks/{task_id}/cancel")).status_code == 200
    await live.app.state.cancel_notifier.wait()
    assert methods(greeter) == ["task/create", "task/cancel"]
    assert greeter.received()[-1]["params"]["task"]["status"] == "CANCELED"


async def test_cancel_by_the_agent_itself_is_not_forwarded(live: Live, example_agent: Any) -> None:
    greeter = await example_agent("async")
    task_id = (await live.rpc(greeter.name, "task/create"))["result"]["id"]
    key = await agent_key(live, greeter)
    r = await live.http.post(f"/tasks/{task_id}/cancel", headers={"x-agent-api-key": key})
    assert r.status_code == 200
    await live.app.state.cancel_notifier.wait()
    assert methods(greeter) == ["task/create"]


async def test_terminate_is_not_forwarded(live: Live, example_agent: Any) -> None:
    greeter = await example_agent("async")
    task_id = (await live.rpc(greeter.name, "task/create"))["result"]["id"]
    await live.http.post(f"/tasks/{task_id}/terminate")
    await live.app.state.cancel_notifier.wait()
    assert methods(greeter) == ["task/create"]


async def test_rpc_cancel_forwards_once_then_sets_status(live: Live, example_agent: Any) -> None:
    greeter = await example_agent("async")
    task_id = (await live.rpc(greeter.name, "task/create", name="c-1"))["result"]["id"]
    body = await live.rpc(greeter.name, "task/cancel", task_name="c-1")
    assert body["result"]["status"] == "CANCELED"
    assert body["result"]["status_reason"] == "Task canceled by user"
    again = await live.rpc(greeter.name, "task/cancel", task_id=task_id)
    assert again["error"] is None and again["result"]["status"] == "CANCELED"
    await live.app.state.cancel_notifier.wait()
    assert methods(greeter).count("task/cancel") == 1
    history = await live.history(task_id)
    assert [h["to_status"] for h in history] == ["RUNNING", "CANCELED"]


async def test_interrupt_is_forwarded_and_agent_error_returned(
    live: Live, example_agent: Any
) -> None:
    greeter = await example_agent("async")
    task_id = (await live.rpc(greeter.name, "task/create"))["result"]["id"]
    body = await live.rpc(greeter.name, "task/interrupt", task_id=task_id)
    # The greeter has no interrupt handler: its error comes back, the task is unchanged.
    assert "task/interrupt" in body["error"]["message"]
    assert (await live.task(task_id))["status"] == "RUNNING"
    assert methods(greeter)[-1] == "task/interrupt"


async def test_task_ref_rules_are_422(live: Live, example_agent: Any) -> None:
    greeter = await example_agent("async")
    for method in ("event/send", "task/cancel", "task/interrupt"):
        for params in ({}, {"task_id": "a", "task_name": "b"}):
            body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
            r = await live.http.post(f"/agents/name/{greeter.name}/rpc", json=body)
            assert r.status_code == 422, (method, params, r.text)


async def test_deadline_tells_the_agent(live: Live, example_agent: Any) -> None:
    greeter = await example_agent("async")
    timed_out = asyncio.Event()

    async def watch(row: dict[str, Any], _change: object) -> None:
        if row["status"] == "TIMED_OUT":
            timed_out.set()

    live.app.state.lifecycle.on_commit(watch)
    body = await live.rpc(greeter.name, "task/create", timeout_seconds=0.3)
    await asyncio.wait_for(timed_out.wait(), 10)
    await live.app.state.cancel_notifier.wait()
    assert methods(greeter) == ["task/create", "task/cancel"]
    assert (await live.task(body["result"]["id"]))["status"] == "TIMED_OUT"
