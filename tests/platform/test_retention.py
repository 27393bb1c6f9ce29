"""Task retention on every database: export → clean → rehydrate round trips byte for
byte, and every refusal (clean and rehydrate) changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from agentkeep import errors
from agentkeep.domain import models
from agentkeep.store import SqlStore
from tests.platform.retention_kit import assert_error, export, fill, finish, task


async def clean(client: httpx.AsyncClient, task_id: str, **body: Any) -> httpx.Response:
    return await client.post(f"/tasks/{task_id}/clean", json={"force": True, **body})


async def test_export_clean_rehydrate_reproduces_the_export(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    agent = await agent_factory()
    made = await task_factory(agent)
    await fill(client, made["id"], agent["id"])
    await finish(client, made["id"])
    before = await export(client, made["id"])
    snapshot = orjson.loads(before)
    assert [m["content"]["type"] for m in snapshot["messages"]] == ["text", "data", "tool_request"]
    assert [s["agent_id"] for s in snapshot["task_states"]] == [agent["id"]]
    version = (await task(client, made["id"]))["version"]

    r = await clean(client, made["id"])
    assert r.status_code == 200, r.text
    result = r.json()
    assert {k: v for k, v in result.items() if k != "cleaned_at"} == {
        "task_id": made["id"],
        "messages_deleted": 3,
        "task_states_deleted": 1,
        "events_deleted": 0,
        "checkpoints_deleted": 1,
    }
    cleaned = await task(client, made["id"])
    assert cleaned["cleaned_at"] == result["cleaned_at"] and cleaned["version"] == version + 1
    assert cleaned["status"] == "COMPLETED"
    assert orjson.loads(await export(client, made["id"])) == {
        "task_id": made["id"], "messages": [], "task_states": []
    }  # fmt: skip
    gone = await client.post("/checkpoints/get-tuple", json={"thread_id": made["id"]})
    assert gone.status_code == 200 and gone.json() is None
    # Cleaning again changes nothing and reports the stored time.
    again = await clean(client, made["id"])
    assert again.json() == {**result, "messages_deleted": 0, "task_states_deleted": 0,
                            "checkpoints_deleted": 0}  # fmt: skip
    assert (await task(client, made["id"]))["version"] == version + 1

    r = await client.post(f"/tasks/{made['id']}/rehydrate", json=snapshot)
    assert r.status_code == 204 and r.content == b""
    assert await export(client, made["id"]) == before
    restored = await task(client, made["id"])
    assert restored["cleaned_at"] is None and restored["version"] == version + 2


async def test_clean_refusals_change_nothing(
    client: httpx.AsyncClient, store: SqlStore, agent_factory: Any, task_factory: Any
) -> None:
    agent = await agent_factory()
    made = await task_factory(agent)
    tid = made["id"]
    await fill(client, tid, agent["id"])
    before, row = await export(client, tid), await task(client, tid)

    async def unchanged() -> None:
        assert await export(client, tid) == before and await task(client, tid) == row

    active = f"Cannot clean task {tid}: status is RUNNING (active)"
    assert_error(await clean(client, tid), 400, active)
    await unchanged()
    await finish(client, tid, "interrupt")
    row = await task(client, tid)
    assert_error(await clean(client, tid), 400, active.replace("RUNNING", "INTERRUPTED"))
    await unchanged()
    await finish(client, tid, "cancel")
    row = await task(client, tid)
    idle = f"Cannot clean task {tid}: not idle for 7 days (use force=true to override)"
    assert_error(await clean(client, tid, force=False), 400, idle)
    assert_error(await clean(client, tid, idle_days=0), 422)
    await unchanged()

    # An event past its agent's cursor (here: no cursor at all) is unprocessed.
    event = await store.create_event(tid, agent["id"], None)
    unprocessed = f"Cannot clean task {tid}: unprocessed events remain"
    assert_error(await clean(client, tid), 400, unprocessed)
    await unchanged()
    assert (await client.get(f"/events/{event['id']}")).status_code == 200
    [tracker] = (await client.get("/tracker", params={"task_id": tid})).json()
    r = await client.put(f"/tracker/{tracker['id']}", json={"last_processed_event_id": event["id"]})
    assert r.status_code == 200, r.text
    later = await store.create_event(tid, agent["id"], None)
    assert_error(await clean(client, tid), 400, unprocessed)
    await unchanged()

    # Processed up to the last event: the clean goes through and resets the cursor.
    r = await client.put(f"/tracker/{tracker['id']}", json={"last_processed_event_id": later["id"]})
    assert r.status_code == 200, r.text
    r = await clean(client, tid)
    assert r.status_code == 200 and r.json()["events_deleted"] == 2, r.text
    assert (await client.get(f"/tracker/{tracker['id']}")).json()["last_processed_event_id"] is None
    missing = str(uuid.uuid4())
    assert_error(await clean(client, missing), 404, f"Item with id '{missing}' does not exist.")


async def test_clean_without_force_once_idle(
    client: httpx.AsyncClient, store: SqlStore, task_factory: Any
) -> None:
    made = await task_factory()
    await finish(client, made["id"])
    now = models.utcnow()
    with pytest.raises(errors.BadRequest):
        await store.clean_task(made["id"], force=False, idle_days=1, now=now)
    result = await store.clean_task(
        made["id"], force=False, idle_days=1, now=now + timedelta(days=1, seconds=1)
    )
    assert result["cleaned_at"] == now + timedelta(days=1, seconds=1)


async def test_deleted_tasks_are_retained_too(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    agent = await agent_factory()
    made = await task_factory(agent)
    await fill(client, made["id"], agent["id"])
    assert (await client.delete(f"/tasks/{made['id']}")).status_code == 200
    before = await export(client, made["id"])
    assert len(orjson.loads(before)["messages"]) == 3
    assert (await clean(client, made["id"])).status_code == 200
    r = await client.post(f"/tasks/{made['id']}/rehydrate", json=orjson.loads(before))
    assert r.status_code == 204, r.text
    assert await export(client, made["id"]) == before
