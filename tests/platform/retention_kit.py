"""Helpers for the retention tests: a task with content of every kind, and checks."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests import assertions


def assert_error(r: httpx.Response, code: int, message: str | None = None) -> dict[str, Any]:
    """``tests.assertions.assert_error``, returning the envelope for further checks."""
    assertions.assert_error(r, code, message)
    body: dict[str, Any] = r.json()
    return body


async def fill(client: httpx.AsyncClient, task_id: str, agent_id: str) -> None:
    """Messages of several content types, a state and a checkpoint thread for the task."""
    contents = [
        {"type": "text", "author": "user", "content": "hello", "format": "markdown"},
        {"type": "data", "author": "agent", "data": {"z": 1, "a": [1.5, None, "é"]}},
        {"type": "tool_request", "author": "agent", "tool_call_id": "c1", "name": "f",
         "arguments": {"x": 1}},
    ]  # fmt: skip
    for content in contents:
        r = await client.post("/messages", json={"task_id": task_id, "content": content})
        assert r.status_code == 200, r.text
    state = {"task_id": task_id, "agent_id": agent_id, "state": {"turns": 3, "nested": {"b": 2}}}
    assert (await client.post("/states", json=state)).status_code == 200
    put = {
        "thread_id": task_id,
        "checkpoint_id": "1",
        "checkpoint": {"v": 4, "channel_versions": {"c": "1"}},
        "blobs": [{"channel": "c", "version": "1", "type": "msgpack",
                   "blob": base64.b64encode(b"secret conversation").decode()}],
    }  # fmt: skip
    assert (await client.post("/checkpoints/put", json=put)).status_code == 200


async def export(client: httpx.AsyncClient, task_id: str) -> bytes:
    r = await client.get(f"/tasks/{task_id}/export")
    assert r.status_code == 200, r.text
    return r.content


async def task(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    r = await client.get(f"/tasks/{task_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def finish(client: httpx.AsyncClient, task_id: str, verb: str = "complete") -> None:
    r = await client.post(f"/tasks/{task_id}/{verb}")
    assert r.status_code == 200, r.text
