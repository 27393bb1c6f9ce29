"""Scheduled runs against the bundled example agents, through a served app.

The app's own scheduler loop fires the schedule; the example agents are their real apps,
served on real ports in the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.acp_kit import in_process_agent, live_server

DONE = ("launched", "skipped", "failed")


@pytest.fixture
async def http(db_url: str, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=db_url, scheduler_poll_seconds=0.2)
    async with (
        live_server(create_app(settings, store=store)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


@pytest.fixture
async def agents(http: httpx.AsyncClient) -> AsyncIterator[Any]:
    """Start the real example agent app (served in this loop); return its agent row."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(kind: str) -> dict[str, Any]:
            name = f"{kind}-{uuid.uuid4().hex[:6]}"
            await stack.enter_async_context(in_process_agent(str(http.base_url), name, kind))
            return dict((await http.get(f"/agents/name/{name}")).json())

        yield start


async def first_fire(http: httpx.AsyncClient, agent_id: str, sid: str) -> dict[str, Any]:
    """Wait for the schedule's first fire to end (the scheduler runs in the background)."""
    while True:
        fires = (await http.get(f"/agents/{agent_id}/schedules/{sid}/fires")).json()
        if fires and fires[-1]["status"] in DONE:
            return dict(fires[-1])
        await asyncio.sleep(0.1)


async def texts(http: httpx.AsyncClient, task_id: str) -> list[tuple[str, str]]:
    r = await http.get("/messages", params={"task_id": task_id, "order_direction": "asc"})
    return [(m["content"]["author"], m["content"]["content"]) for m in r.json()]


#: What each example agent's task holds: the sync turn stores the input as a message and
#: streams the echo; the async agent greets on task/create and answers the event.
CONVERSATIONS = {
    "sync": [("user", "good morning"), ("agent", "good morning")],
    "async": [
        ("agent", "Hello! I am {name}. Send me an event."),
        ("agent", "You said: good morning"),
    ],
}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_scheduled_run_gets_the_agents_reply(
    http: httpx.AsyncClient, agents: Any, kind: str
) -> None:
    agent = await agents(kind)
    body = {
        "name": "morning",
        "interval_seconds": 1,
        "initial_input": {"content": "good morning"},
        "task_metadata": {"team": "ops", "schedule_id": "overridden"},
        "task_params": {"depth": 2},
    }
    created = (await http.post(f"/agents/{agent['id']}/schedules", json=body)).json()
    sid = created["id"]
    fire = await first_fire(http, agent["id"], sid)
    await http.delete(f"/agents/{agent['id']}/schedules/{sid}")
    assert (fire["status"], fire["trigger_type"], fire["attempts"]) == ("launched", "scheduled", 1)
    task = (await http.get(f"/tasks/{fire['task_id']}")).json()
    assert task["name"] == f"scheduled-run:{sid}:{fire['fire_id']}"
    assert task["params"] == {"depth": 2}
    assert task["task_metadata"] == {
        "display_name": "morning",
        "team": "ops",
        "schedule_id": sid,
        "scheduled_fire_id": fire["fire_id"],
        "trigger_type": "scheduled",
        "fire_time": fire["nominal_time"].replace("+00:00", "Z"),
        "scheduled_input_delivered": True,
    }
    expected = [(who, text.format(name=agent["name"])) for who, text in CONVERSATIONS[kind]]
    assert await texts(http, task["id"]) == expected
    history = (await http.get(f"/tasks/{task['id']}/history")).json()
    assert {h["actor"] for h in history} == {f"schedule:{sid}"}


async def test_manual_trigger_runs_while_paused(http: httpx.AsyncClient, agents: Any) -> None:
    agent = await agents("sync")
    body = {"name": "later", "cron_expression": "0 0 1 1 *", "paused": True}
    body["initial_input"] = {"content": "now please", "author": "agent"}  # type: ignore[assignment]
    sid = (await http.post(f"/agents/{agent['id']}/schedules", json=body)).json()["id"]
    r = await http.post(f"/agents/{agent['id']}/schedules/{sid}/trigger")
    assert r.status_code == 200 and r.json()["state"] == "PAUSED"
    fire = await first_fire(http, agent["id"], sid)
    assert (fire["status"], fire["trigger_type"]) == ("launched", "manual")
    task = (await http.get(f"/tasks/{fire['task_id']}")).json()
    assert task["task_metadata"]["trigger_type"] == "manual"
    assert task["task_metadata"]["fire_time"].endswith("Z")
    assert ("agent", "now please") in await texts(http, task["id"])
    got = (await http.get(f"/agents/{agent['id']}/schedules/{sid}")).json()
    assert (got["num_actions_taken"], got["last_action_time"]) == (0, None)
