"""A clean racing ``event/send`` never loses an unprocessed event: both requests are sent
at once to a live server process, round after round, on every database.

The agent acknowledges events without ever committing its cursor, so every event stays
unprocessed: whichever request wins, an event that ``event/send`` stored must still exist,
and a clean that went through cannot have deleted one. Which interleaving each round
takes is up to the scheduler (seen here: event first, clean first, and the event stored
just after the clean committed); the invariants hold in every one.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.acp_kit import RawAgent, http_response, rpc_ok, send
from tests.conftest import ServerProcess

ROUNDS = 12
UNPROCESSED = "unprocessed events remain"


async def _ack(request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    await send(writer, http_response(rpc_ok(request, {"status": "ok"})))


async def rpc(http: httpx.AsyncClient, agent: str, method: str, **params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    r = await http.post(f"/agents/name/{agent}/rpc", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def failed_task_with_content(http: httpx.AsyncClient, agent: str) -> str:
    """A FAILED task: it takes events (no resume) and may be cleaned (not active)."""
    task_id = str((await rpc(http, agent, "task/create"))["result"]["id"])
    content = {"type": "text", "author": "user", "content": "keep me"}
    assert (await http.post("/messages", json={"task_id": task_id, "content": content})).is_success
    assert (await http.post(f"/tasks/{task_id}/fail")).status_code == 200
    return task_id


async def test_clean_racing_event_send_never_loses_an_event(server: ServerProcess) -> None:
    async with RawAgent(_ack) as raw, httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        name = f"racer-{uuid.uuid4().hex[:8]}"
        body = {"name": name, "acp_url": raw.url, "acp_type": "async"}
        assert (await http.post("/agents/register", json=body)).status_code == 200
        for _ in range(ROUNDS):
            task_id = await failed_task_with_content(http, name)
            before = (await http.get(f"/tasks/{task_id}/export")).content
            version = (await http.get(f"/tasks/{task_id}")).json()["version"]
            content = {"type": "text", "author": "user", "content": "racing"}
            sent, cleaned = await asyncio.gather(
                rpc(http, name, "event/send", task_id=task_id, content=content),
                http.post(f"/tasks/{task_id}/clean", json={"force": True}),
            )
            event = sent["result"]
            if event is not None:
                # The invariant: a stored event is never deleted unprocessed.
                assert (await http.get(f"/events/{event['id']}")).status_code == 200
            else:
                assert "has been cleaned" in sent["error"]["message"], sent
            if cleaned.status_code == 200:
                assert cleaned.json()["events_deleted"] == 0, cleaned.text
            else:
                assert cleaned.status_code == 400 and UNPROCESSED in cleaned.json()["message"]
                # The refused clean rolled back entirely.
                assert (await http.get(f"/tasks/{task_id}/export")).content == before
                assert (await http.get(f"/tasks/{task_id}")).json()["version"] == version
