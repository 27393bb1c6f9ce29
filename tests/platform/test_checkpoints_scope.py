"""Agent keys (with API keys configured) reach only threads and tasks of their own agent:
checkpoints by ``thread_id`` = task id, retention and workflow queries by task. Anything
else answers like an unknown task, and changes nothing."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import running_app
from tests.platform.retention_kit import assert_error

OPS = {"authorization": "Bearer ops-key-0123456789"}


@pytest.fixture
async def secured(settings: Settings, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    keyed = settings.model_copy(update={"api_keys": "ops:ops-key-0123456789"})
    async with running_app(create_app(keyed, store=store)) as c:
        yield c


async def test_agent_keys_reach_only_their_own_tasks(secured: httpx.AsyncClient) -> None:
    client = secured
    mine, my_task = await _registered(client)
    _, their_task = await _registered(client)
    checkpoint = {"v": 4, "channel_versions": {"c": "1"}}
    blob = [{"channel": "c", "version": "1", "type": "t", "blob": base64.b64encode(b"x").decode()}]
    put = {"checkpoint_id": "1", "checkpoint": checkpoint, "blobs": blob}

    ok = await client.post("/checkpoints/put", json={"thread_id": my_task, **put}, headers=mine)
    assert ok.status_code == 200, ok.text
    got = await client.post("/checkpoints/get-tuple", json={"thread_id": my_task}, headers=mine)
    assert got.json()["checkpoint_id"] == "1"

    for thread in (their_task, "free-thread"):
        refused = f"Item with id '{thread}' does not exist."
        calls = [
            ("get-tuple", {}),
            ("put", put),
            ("put-writes", {"checkpoint_id": "1", "writes": []}),
            ("list", {}),
            ("delete-thread", {}),
        ]
        for route, extra in calls:
            r = await client.post(
                f"/checkpoints/{route}", json={"thread_id": thread, **extra}, headers=mine
            )
            assert_error(r, 404, refused)
        # Nothing was stored: an operator's key sees every thread.
        r = await client.post("/checkpoints/get-tuple", json={"thread_id": thread}, headers=OPS)
        assert r.status_code == 200 and r.json() is None
    r = await client.post("/checkpoints/put", json={"thread_id": "free-thread", **put}, headers=OPS)
    assert r.status_code == 200

    refused = f"Item with id '{their_task}' does not exist."
    assert_error(await client.get(f"/tasks/{their_task}/export", headers=mine), 404, refused)
    for route, body in (("export", {"upload_url": "https://8.8.8.8/x"}), ("clean", {}),
                        ("rehydrate", {"task_id": their_task, "messages": []})):  # fmt: skip
        r = await client.post(f"/tasks/{their_task}/{route}", json=body, headers=mine)
        assert_error(r, 404, refused)
    assert_error(await client.get(f"/tasks/{their_task}/query/q", headers=mine), 404, refused)
    r = await client.get(f"/tasks/{my_task}/query/q", headers=mine)
    assert_error(r, 404, f"Workflow '{my_task}' not found")
    assert (await client.get(f"/tasks/{my_task}/export", headers=mine)).status_code == 200
    # Without any credential, nothing at all.
    assert_error(await client.post("/checkpoints/list", json={"thread_id": my_task}), 401)


async def _registered(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    name = f"scope-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "acp_url": "http://127.0.0.1:9", "acp_type": "sync"}
    r = await client.post("/agents/register", json=body, headers=OPS)
    assert r.status_code == 200, r.text
    key = {"x-agent-api-key": r.json()["agent_api_key"]}
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}
    r = await client.post(f"/agents/name/{name}/rpc", json=rpc, headers=OPS)
    assert r.status_code == 200 and r.json()["error"] is None, r.text
    return key, str(r.json()["result"]["id"])
