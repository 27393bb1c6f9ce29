from __future__ import annotations

import httpx


async def test_complete_then_terminate_is_refused(client: httpx.AsyncClient, task_factory) -> None:
    task = await task_factory(name="t1")
    r = await client.post(f"/tasks/{task['id']}/complete", json={"reason": "done"})
    assert r.status_code == 200
    assert r.json()["status"] == "COMPLETED"
    r = await client.post(f"/tasks/{task['id']}/terminate")
    assert r.status_code == 400
    assert "Only running" in r.json()["message"]
    assert r.json()["data"]["task"]["status"] == "COMPLETED"
