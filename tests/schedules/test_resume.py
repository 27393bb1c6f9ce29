"""A fire whose process is killed mid-delivery is resumed by another process.

The agent holds the first ``event/send`` open; the server process delivering it is killed
with SIGKILL. A second process takes the fire over once its lease runs out: the same task
(found by name), the input delivered again (at least once, as specified), then launched.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.acp_kit import RawAgent, current_reader, http_response, rpc_ok, send
from tests.conftest import start_server, stop_server

LEASE_SECONDS = 3


class HoldFirstEvent:
    """Answers every call at once, except the first ``event/send``: held until hung up."""

    def __init__(self) -> None:
        self.holding = asyncio.Event()

    async def __call__(self, request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        if request["method"] == "event/send" and not self.holding.is_set():
            self.holding.set()
            await current_reader.get().read()  # returns when the killed server's socket closes
            return
        await send(writer, http_response(rpc_ok(request, {"status": "ok"})))


async def launched(http: httpx.AsyncClient, path: str) -> dict[str, Any]:
    while True:
        (fire,) = (await http.get(path)).json()
        if fire["status"] != "pending" and fire["status"] != "running":
            return dict(fire)
        await asyncio.sleep(0.2)


async def test_killed_runner_is_resumed_after_the_lease(db_url: str, tmp_path: Path) -> None:
    env = {
        "AGENTKEEP_DATABASE_URL": db_url,
        "AGENTKEEP_SCHEDULE_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    hold = HoldFirstEvent()
    async with RawAgent(hold) as raw:
        first = start_server(env, tmp_path / "first.log")
        try:
            async with httpx.AsyncClient(base_url=first.url, timeout=30) as http:
                agent = await register(http, raw.url)
                base = f"/agents/{agent['id']}/schedules"
                body = {"name": "once", "cron_expression": "0 0 1 1 *", "paused": True}
                body["initial_input"] = {"content": "wake up"}  # type: ignore[assignment]
                sid = (await http.post(base, json=body)).json()["id"]
                await http.post(f"{base}/{sid}/trigger")
                await asyncio.wait_for(hold.holding.wait(), 60)
        finally:
            first.proc.kill()  # SIGKILL: no shutdown, the lease is left behind
            first.proc.wait()
        second = start_server(env, tmp_path / "second.log")
        try:
            async with httpx.AsyncClient(base_url=second.url, timeout=30) as http:
                fire = await launched(http, f"{base}/{sid}/fires")
                task = (await http.get(f"/tasks/{fire['task_id']}")).json()
                named = (await http.get("/tasks", params={"agent_id": agent["id"]})).json()
                events = (
                    await http.get(
                        "/events", params={"task_id": task["id"], "agent_id": agent["id"]}
                    )
                ).json()
        finally:
            stop_server(second)
    assert (fire["status"], fire["attempts"]) == ("launched", 2)
    assert [t["id"] for t in named] == [task["id"]]
    assert task["name"] == f"scheduled-run:{sid}:{fire['fire_id']}"
    assert task["task_metadata"]["scheduled_input_delivered"] is True
    # Delivered by the killed attempt and again by the resumed one: at least once.
    assert [e["content"]["content"] for e in events] == ["wake up", "wake up"]
    methods = [c["method"] for c in raw.calls]
    assert methods == ["task/create", "event/send", "task/create", "event/send"]


async def register(http: httpx.AsyncClient, acp_url: str) -> dict[str, Any]:
    body = {
        "name": f"held-{uuid.uuid4().hex[:6]}",
        "description": "holds its first event",
        "acp_url": acp_url,
        "acp_type": "async",
    }
    r = await http.post("/agents/register", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())
