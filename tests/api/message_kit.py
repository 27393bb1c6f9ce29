"""Helpers shared by the message tests."""

from __future__ import annotations

from typing import Any

import httpx
from agentex.types import TaskMessage


def text(body: str, author: str = "user") -> dict[str, Any]:
    return {"type": "text", "author": author, "content": body}


async def post_message(client: httpx.AsyncClient, task_id: str, **body: Any) -> dict[str, Any]:
    r = await client.post("/messages", json={"task_id": task_id, **body})
    assert r.status_code == 200, r.text
    TaskMessage.model_validate(r.json())
    return dict(r.json())


async def all_messages(client: httpx.AsyncClient, task_id: str) -> list[dict[str, Any]]:
    r = await client.get("/messages", params={"task_id": task_id, "limit": 1000})
    assert r.status_code == 200, r.text
    return list(r.json())
