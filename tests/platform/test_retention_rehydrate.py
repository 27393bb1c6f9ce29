"""Rehydrate's refusals, on every database: each is a clear 4xx and writes nothing."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import orjson

from tests.platform.retention_kit import assert_error, export, fill, finish, task


async def test_rehydrate_refusals_change_nothing(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    agent = await agent_factory()
    made, other = await task_factory(agent), await task_factory(agent)
    tid = made["id"]
    await fill(client, tid, agent["id"])
    await fill(client, other["id"], agent["id"])
    await finish(client, tid)
    snapshot = orjson.loads(await export(client, tid))

    async def rehydrate(body: dict[str, Any]) -> httpx.Response:
        return await client.post(f"/tasks/{tid}/rehydrate", json=body)

    not_cleaned = f"Cannot rehydrate task {tid}: task is not in cleaned state (cleaned_at is NULL)"
    assert_error(await rehydrate(snapshot), 400, not_cleaned)
    assert (await client.post(f"/tasks/{tid}/clean", json={"force": True})).status_code == 200
    cleaned, empty = await task(client, tid), await export(client, tid)

    def edited(change: Any) -> dict[str, Any]:
        body = copy.deepcopy(snapshot)
        change(body)
        return body

    both = "Provide inline content (messages/task_states) OR snapshot_url, not both."
    neither = "Provide exactly one of: inline content (messages/task_states) or snapshot_url."
    foreign = other["id"]
    taken = orjson.loads(await export(client, foreign))["messages"][0]["id"]
    msg0 = snapshot["messages"][0]
    state0 = snapshot["task_states"][0]
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({**snapshot, "snapshot_url": "https://example.com/s.json"}, 422, both),
        ({"task_id": tid}, 422, neither),
        ({"task_id": tid, "messages": [], "task_states": []}, 422, neither),
        ({"messages": snapshot["messages"]}, 422, None),
        ({**snapshot, "task_id": foreign}, 400,
         f"Snapshot task_id ({foreign}) does not match path task_id ({tid})"),
        (edited(lambda b: b["messages"][2].update(task_id=foreign)), 400,
         f"Snapshot message[2] task_id ({foreign}) does not match path task_id ({tid})"),
        (edited(lambda b: b["task_states"][0].update(task_id=foreign)), 400,
         f"Snapshot task_states[0] task_id ({foreign}) does not match path task_id ({tid})"),
        (edited(lambda b: b["task_states"][0].update(agent_id="nobody")), 400,
         "Snapshot task_states[0] agent_id (nobody) is not a known agent"),
        (edited(lambda b: b["messages"][1].update(content={"type": "text"})), 422, None),
        (edited(lambda b: b["messages"][0].update(created_at="yesterday")), 422, None),
        # An id that exists elsewhere, and the same id twice in one snapshot: all or nothing.
        (edited(lambda b: b["messages"][2].update(id=taken)), 400,
         "Item already exists. Please check all unique constraints and try again."),
        (edited(lambda b: b["messages"].append({**msg0, "content": msg0["content"]})), 400,
         "Item already exists. Please check all unique constraints and try again."),
        (edited(lambda b: b["task_states"].append({**state0, "id": "another"})), 400,
         "Item already exists. Please check all unique constraints and try again."),
    ]  # fmt: skip
    for body, code, message in cases:
        assert_error(await rehydrate(body), code, message)
        assert await task(client, tid) == cleaned and await export(client, tid) == empty

    assert (await rehydrate(snapshot)).status_code == 204
    assert orjson.loads(await export(client, tid)) == snapshot
