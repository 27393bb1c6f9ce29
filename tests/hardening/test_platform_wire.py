"""The platform routes' declared 200 bodies (``api.platform_wire``) are what they answer.

Each real answer must validate against its declared model AND carry exactly the model's
keys, nested ones included: a field the route adds or drops fails here, not in a
generated client.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
from pydantic import TypeAdapter

from agentkeep.api import platform_wire as pw
from agentkeep.api import wire

SCHEDULE = {"name": "nightly", "cron_expression": "0 3 * * *", "initial_input": {"content": "go"}}
#: Blobs come back only for the channel versions the checkpoint names.
CHECKPOINT = {"v": 4, "channel_versions": {"c": "1"}}
HISTORY_META = {
    "agent_commit": "abc123",
    "author_name": "Ada",
    "author_email": "ada@example.com",
    "build_timestamp": "2026-11-30T10:00:00Z",
}


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(v) for v in value]
    return None


def exact(declared: Any, r: httpx.Response) -> Any:
    """The body, once it matched ``declared`` key for key."""
    assert r.status_code == 200, r.text
    body = r.json()
    adapter: TypeAdapter[Any] = TypeAdapter(declared)
    parsed = adapter.validate_python(body)
    assert _keys(adapter.dump_python(parsed)) == _keys(body)
    return body


async def test_schedules(client: httpx.AsyncClient, agent_factory: Any) -> None:
    agent = await agent_factory(acp_type="async")
    base = f"/agents/{agent['id']}/schedules"
    sid = exact(pw.RunSchedule, await client.post(base, json=SCHEDULE))["id"]
    exact(pw.RunScheduleList, await client.get(base))
    exact(pw.RunScheduleList, await client.get(base, params={"include_live": True}))
    exact(pw.RunSchedule, await client.post(f"{base}/name/nightly/pause"))
    exact(pw.RunSchedule, await client.post(f"{base}/{sid}/trigger"))
    exact(list[pw.ScheduleFire], await client.get(f"{base}/{sid}/fires"))
    exact(wire.Deleted, await client.delete(f"{base}/{sid}"))


async def test_deployments_and_history(client: httpx.AsyncClient, agent_factory: Any) -> None:
    agent = await agent_factory(registration_metadata=HISTORY_META)
    base = f"/agents/{agent['id']}/deployments"
    made = exact(pw.Deployment, await client.post(base, json={"docker_image": "img:1"}))
    exact(list[pw.Deployment], await client.get(base))
    exact(pw.Deployment, await client.get(f"{base}/{made['id']}"))
    exact(wire.Deleted, await client.delete(f"{base}/{made['id']}"))
    history = await client.get("/deployment-history", params={"agent_id": agent["id"]})
    (record,) = exact(list[pw.DeploymentHistory], history)
    exact(pw.DeploymentHistory, await client.get(f"/deployment-history/{record['id']}"))


async def test_agent_keys_and_webhook_trigger(
    client: httpx.AsyncClient, agent_factory: Any
) -> None:
    agent = await agent_factory()
    made = exact(
        pw.CreatedAgentApiKey,
        await client.post("/agent_api_keys", json={"agent_id": agent["id"], "name": "ci"}),
    )
    exact(
        list[pw.AgentApiKey], await client.get("/agent_api_keys", params={"agent_id": agent["id"]})
    )
    exact(pw.AgentApiKey, await client.get(f"/agent_api_keys/{made['id']}"))
    exact(str, await client.delete(f"/agent_api_keys/{made['id']}"))
    trigger = {"agent_name": agent["name"], "name": "o/r", "forward_path": "/hook"}
    exact(pw.WebhookTrigger, await client.post("/agent_api_keys/webhook-trigger", json=trigger))


async def test_checkpoints_and_retention(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    agent = await agent_factory()
    task = await task_factory(agent)
    thread = task["id"]
    none = await client.post("/checkpoints/get-tuple", json={"thread_id": thread})
    assert exact(pw.CheckpointTuple | None, none) is None
    blob = {
        "channel": "c",
        "version": "1",
        "type": "msgpack",
        "blob": base64.b64encode(b"x").decode(),
    }
    put = {"thread_id": thread, "checkpoint_id": "1", "checkpoint": CHECKPOINT, "blobs": [blob]}
    exact(pw.CheckpointKey, await client.post("/checkpoints/put", json=put))
    write = {"task_id": "t", "idx": 0, "channel": "c", "blob": blob["blob"]}
    writes = {"thread_id": thread, "checkpoint_id": "1", "writes": [write]}
    assert (await client.post("/checkpoints/put-writes", json=writes)).status_code == 204
    found = exact(
        pw.CheckpointTuple, await client.post("/checkpoints/get-tuple", json={"thread_id": thread})
    )
    assert found["blobs"] and found["pending_writes"]
    exact(list[pw.Checkpoint], await client.post("/checkpoints/list", json={"thread_id": thread}))
    message = {"task_id": thread, "content": {"type": "text", "author": "user", "content": "hi"}}
    assert (await client.post("/messages", json=message)).status_code == 200
    state = {"task_id": thread, "agent_id": agent["id"], "state": {"turns": 1}}
    assert (await client.post("/states", json=state)).status_code == 200
    exported = exact(pw.TaskSnapshot, await client.get(f"/tasks/{thread}/export"))
    assert exported["messages"] and exported["task_states"]
    assert (await client.post(f"/tasks/{thread}/complete")).status_code == 200
    exact(pw.CleanResult, await client.post(f"/tasks/{thread}/clean", json={"force": True}))
