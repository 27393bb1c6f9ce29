"""Every ``params`` the server forwards, validated against the ACP models.

agentex-sdk (Python >= 3.12) defines them in ``agentex.protocol.acp`` on top of the
``agentex.types`` models of agentex-client. The suite runs on 3.11, so the models are
rebuilt here field for field from those same ``agentex.types`` (``Agent``, ``Task``,
``Event``, ``TaskMessageContent``), plus the checks an SDK agent relies on implicitly:
the agent's ``"Ready"`` status, timestamps, and the task's ``params``/``task_metadata``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from agentex.types import Agent, Event, Task, TaskMessageContent
from pydantic import BaseModel, ConfigDict

from tests.acp_kit import Live, RawAgent, http_response, rpc_ok, send


class _Params(BaseModel):
    # As agentex.protocol.acp: unknown fields are accepted, known ones must validate.
    model_config = ConfigDict(from_attributes=True)
    agent: Agent
    task: Task
    request: dict[str, Any] | None = None


class CreateTaskParams(_Params):
    params: dict[str, Any] | None = None


class SendMessageParams(_Params):
    content: TaskMessageContent
    stream: bool = False


class SendEventParams(_Params):
    event: Event


class CancelTaskParams(_Params):
    pass


class InterruptTaskParams(_Params):
    pass


MODELS: dict[str, type[_Params]] = {
    "task/create": CreateTaskParams,
    "message/send": SendMessageParams,
    "event/send": SendEventParams,
    "task/cancel": CancelTaskParams,
    "task/interrupt": InterruptTaskParams,
}


def check(method: str, params: dict[str, Any]) -> None:
    model = MODELS[method].model_validate(params)
    agent, task = params["agent"], params["task"]
    assert agent["status"] == "Ready" and "acp_url" not in agent
    for key in ("created_at", "updated_at", "registered_at"):
        datetime.fromisoformat(agent[key])
    assert {"params", "task_metadata", "status", "created_at", "updated_at"} <= task.keys()
    assert model.task.created_at is not None and model.task.created_at.tzinfo is not None
    if method == "message/send":
        assert params["stream"] is True
    if method == "event/send":
        assert params["request"] is None
        assert isinstance(params["event"]["sequence_id"], int)
    if method == "task/create":
        assert params["params"] == task["params"]


async def interrupt_ok(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    await send(writer, http_response(rpc_ok(request, {"status": "ok"})))


async def test_every_forwarded_params_validates(live: Live, example_agent: Any) -> None:
    echo, greeter = await example_agent("sync"), await example_agent("async")
    text = {"type": "text", "author": "user", "content": "hello"}
    meta = {"owner": "me"}
    created = await live.rpc(greeter.name, "task/create", params={"p": 1}, task_metadata=meta)
    task_id = created["result"]["id"]
    await live.rpc(greeter.name, "event/send", task_id=task_id, content=text)
    await live.rpc(greeter.name, "task/cancel", task_id=task_id)
    await live.rpc(echo.name, "message/send", content=text, task_params={"q": 2})
    calls = greeter.received() + echo.received()
    async with RawAgent(interrupt_ok) as raw:
        agent = await live.register(raw.url, "async")
        other = (await live.rpc(agent["name"], "task/create"))["result"]["id"]
        await live.rpc(agent["name"], "task/interrupt", task_id=other)
    calls += [{"method": c["method"], "params": c["params"]} for c in raw.calls]
    seen = [call["method"] for call in calls]
    assert sorted(set(seen)) == sorted(MODELS)
    for call in calls:
        check(call["method"], call["params"])
    first = greeter.received()[0]["params"]
    assert first["task"]["task_metadata"] == meta and first["params"] == {"p": 1}
