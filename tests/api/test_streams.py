"""SSE streams on every database and every bus, against a real uvicorn in this process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.bus.base import EventBus
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from streaming_kit import open_stream, serve_in_process


@pytest.fixture
async def http(
    settings: Settings, store: SqlStore, bus: EventBus
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, store=store, bus=bus)
    async with serve_in_process(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as c:
        yield c


async def make_task(http: httpx.AsyncClient, name: str | None = None) -> dict[str, Any]:
    agent = await http.post(
        "/agents/register",
        json={
            "name": f"agent-{uuid.uuid4().hex[:8]}",
            "description": "d",
            "acp_url": "http://127.0.0.1:9",
            "acp_type": "sync",
        },
    )
    params: dict[str, Any] = {"name": name} if name else {}
    r = await http.post(
        f"/agents/{agent.json()['id']}/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": params},
    )
    return dict(r.json()["result"])


async def publish(http: httpx.AsyncClient, task_id: str, *deltas: str) -> None:
    body = [
        {"type": "delta", "index": 0, "delta": {"type": "text", "text_delta": d}} for d in deltas
    ]
    r = await http.post(f"/tasks/{task_id}/stream/events", json=body)
    assert r.status_code == 200, r.text


async def test_connected_then_each_change_then_end(http: httpx.AsyncClient) -> None:
    task = await make_task(http)
    async with open_stream(http, f"/tasks/{task['id']}/stream") as s:
        first = await s.event()
        assert first is not None and first.data == {"type": "connected", "taskId": task["id"]}
        await http.post(f"/tasks/{task['id']}/interrupt")
        interrupted = await s.event()
        await publish(http, task["id"], "hi")
        delta = await s.event()
        await http.post(f"/tasks/{task['id']}/complete", json={"reason": "done"})
        rest = await s.rest()
    assert interrupted is not None and interrupted.data is not None
    assert interrupted.data["task"]["status"] == "INTERRUPTED"
    assert delta is not None and delta.data is not None and delta.id is None
    assert delta.data["delta"]["text_delta"] == "hi"
    assert [(f.type, f.data["task"]["status"]) for f in rest if f.data] == [
        ("task_updated", "COMPLETED")
    ]
    assert s.raw.startswith(f'data: {{"type":"connected","taskId":"{task["id"]}"}}\n\n')
    assert "id:" not in s.raw
