"""A client that hangs up mid-stream: the reply is kept and finished, the task is not
failed (the agent did nothing wrong), and the agent's connection is released."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agentkeep.bus.base import START
from agentkeep.settings import Settings
from tests.acp_kit import STREAM_HEAD, Live, RawAgent, chunk, current_reader, rpc_ok, send

UPDATES = [
    {"type": "start", "index": 0, "content": {"type": "text", "author": "agent", "content": ""}},
    {"type": "delta", "index": 0, "delta": {"type": "text", "text_delta": "half"}},
]


@pytest.fixture
def acp_settings(db_url: str) -> Settings:
    # A long stream timeout: only the hang-up may end this turn.
    return Settings(database_url=db_url, agent_stream_timeout_seconds=60)


async def test_hang_up_mid_stream(live: Live) -> None:
    released = asyncio.Event()

    async def stalled(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        lines = b"".join(chunk(rpc_ok(request, u) + b"\n") for u in UPDATES)
        await send(writer, STREAM_HEAD + lines)
        await current_reader.get().read()  # returns at EOF: the server hung up on us
        released.set()

    async with RawAgent(stalled) as raw:
        agent = await live.register(raw.url, "sync")
        content = {"type": "text", "author": "user", "content": "hi"}
        body = {"jsonrpc": "2.0", "id": 1, "method": "message/send"}
        body["params"] = {"content": content, "stream": True}
        async with live.http.stream("POST", f"/agents/name/{agent['name']}/rpc", json=body) as r:
            lines = r.aiter_lines()
            first = json.loads(await anext(lines))
            await anext(lines)
        task_id = first["result"]["parent_task_message"]["task_id"]
        await asyncio.wait_for(released.wait(), 10)
    bus = live.app.state.bus
    entries = await bus.read_after(task_id, START)
    while not any(e.event.get("type") == "done" for e in entries):
        more = await bus.wait({task_id: entries[-1].id}, timeout=10)
        assert more, "no done published after the hang-up"
        entries += more[task_id]
    reply = (await live.messages(task_id))[-1]
    assert reply["streaming_status"] == "DONE" and reply["content"]["content"] == "half"
    assert (await live.task(task_id))["status"] == "RUNNING"
