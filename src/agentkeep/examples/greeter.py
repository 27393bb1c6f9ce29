"""``greeter``: an async agent that greets on ``task/create`` and answers each event.

Everything it says goes through the server's REST API (``POST /messages``), the way
agentex-sdk agents write; after each answer it commits its tracker cursor
(``PUT /tracker/{id}``). It handles each call before answering it, so its reply exists
by the time ``event/send`` returns; on ``task/cancel`` it stops answering that task.
"""

from __future__ import annotations

from typing import Any

from agentkeep.examples.base import ExampleAgent


class Greeter:
    def __init__(self, agent: ExampleAgent) -> None:
        self.agent = agent
        self.stopped: set[str] = set()

    async def say(self, task_id: str, text: str) -> None:
        content = {"type": "text", "author": "agent", "content": text, "format": "markdown"}
        r = await self.agent.rest().post("/messages", json={"task_id": task_id, "content": content})
        r.raise_for_status()

    async def task_create(self, params: dict[str, Any]) -> dict[str, Any]:
        task = params["task"]
        if task["id"] in self.stopped:
            return {"status": "stopped"}
        await self.say(task["id"], f"Hello! I am {self.agent.name}. Send me an event.")
        return {"status": "greeted"}

    async def event_send(self, params: dict[str, Any]) -> dict[str, Any]:
        task, event = params["task"], params["event"]
        if task["id"] in self.stopped:
            raise RuntimeError(f"task {task['id']} was canceled; not answering")
        content = event.get("content") or {}
        heard = content.get("content") if content.get("type") == "text" else content
        await self.say(task["id"], f"You said: {heard}")
        await self.commit_cursor(task["id"], event["id"])
        return {"status": "answered"}

    async def commit_cursor(self, task_id: str, event_id: str) -> None:
        rest = self.agent.rest()
        r = await rest.get("/tracker", params={"agent_id": self.agent.agent_id, "task_id": task_id})
        r.raise_for_status()
        for tracker in r.json():
            put = await rest.put(
                f"/tracker/{tracker['id']}", json={"last_processed_event_id": event_id}
            )
            put.raise_for_status()

    async def task_cancel(self, params: dict[str, Any]) -> dict[str, Any]:
        self.stopped.add(params["task"]["id"])
        return {"status": "stopped"}


def build(server_url: str, name: str) -> ExampleAgent:
    agent = ExampleAgent(server_url, name, "async", "Greets you and answers every event.")
    greeter = Greeter(agent)
    agent.handlers.update(
        {
            "task/create": greeter.task_create,
            "event/send": greeter.event_send,
            "task/cancel": greeter.task_cancel,
        }
    )
    return agent
