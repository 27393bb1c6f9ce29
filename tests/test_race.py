"""Concurrent transitions against a real server process: exactly one wins, every time."""

from __future__ import annotations

import asyncio
import itertools
import random

import httpx

from tests.conftest import ServerProcess

VERBS = ["complete", "fail", "cancel", "terminate", "timeout"]
CONCURRENCY = 32
ROUNDS = 10


async def _round(http: httpx.AsyncClient, agent_id: str, n: int) -> None:
    r = await http.post(
        f"/agents/{agent_id}/rpc",
        json={"jsonrpc": "2.0", "id": n, "method": "task/create", "params": {"name": f"race-{n}"}},
    )
    task_id = r.json()["result"]["id"]
    verbs = list(itertools.islice(itertools.cycle(VERBS), CONCURRENCY))
    random.shuffle(verbs)
    # All requests are in flight before any is answered: a barrier releases them together.
    gate = asyncio.Event()

    async def fire(verb: str) -> httpx.Response:
        await gate.wait()
        return await http.post(f"/tasks/{task_id}/{verb}", json={"reason": verb})

    pending = [asyncio.create_task(fire(v)) for v in verbs]
    await asyncio.sleep(0)
    gate.set()
    responses = await asyncio.gather(*pending)

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [400] * (CONCURRENCY - 1), codes
    winner = next(r.json() for r in responses if r.status_code == 200)
    for loser in (r for r in responses if r.status_code == 400):
        assert loser.json()["data"]["task"]["status"] == winner["status"]
    final = (await http.get(f"/tasks/{task_id}")).json()
    assert (final["status"], final["status_reason"], final["version"]) == (
        winner["status"],
        winner["status_reason"],
        2,
    )
    history = (await http.get(f"/tasks/{task_id}/history")).json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "RUNNING"),
        ("RUNNING", winner["status"]),
    ]


async def test_32_concurrent_mixed_transitions_one_winner(server: ServerProcess) -> None:
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
        agent = (
            await http.post(
                "/agents/register",
                json={"name": "racer", "acp_url": "http://127.0.0.1:9", "acp_type": "sync"},
            )
        ).json()
        for n in range(ROUNDS):
            await _round(http, agent["id"], n)
    assert "Traceback" not in server.output()
