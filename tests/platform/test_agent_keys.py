"""Agent API keys: ``/agent_api_keys`` routes and their errors (no official-client resource
covers them; the webhook trigger, which it does cover, has its own module)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.platform.kit import envelope


async def agent(client: httpx.AsyncClient) -> dict[str, Any]:
    body = {"name": f"agent-{uuid.uuid4().hex[:8]}", "acp_url": "http://127.0.0.1:9"}
    r = await client.post("/agents/register", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_create_list_get_delete(client: httpx.AsyncClient) -> None:
    a = await agent(client)
    r = await client.post("/agent_api_keys", json={"agent_id": a["id"], "name": "ci"})
    assert r.status_code == 200, r.text
    created = r.json()
    assert set(created) == {"id", "agent_id", "created_at", "name", "api_key_type", "api_key"}
    assert created["api_key_type"] == "external" and re.fullmatch(
        r"[0-9a-f]{64}", created["api_key"]
    )
    given = await client.post(
        "/agent_api_keys",
        json={"agent_name": a["name"], "name": "repo/x", "api_key_type": "github", "api_key": "s3"},
    )
    assert given.json()["api_key"] == "s3"
    shown = {k: v for k, v in created.items() if k != "api_key"}
    listed = (await client.get("/agent_api_keys", params={"agent_id": a["id"]})).json()
    assert [k["name"] for k in listed] == ["ci", "repo/x"]
    assert listed[0] == shown  # the value is shown once, at creation
    assert (await client.get(f"/agent_api_keys/{created['id']}")).json() == shown
    by_name = await client.get("/agent_api_keys/name/ci", params={"agent_name": a["name"]})
    assert by_name.json() == shown
    github = await client.get(
        "/agent_api_keys/name/repo/x", params={"agent_id": a["id"], "api_key_type": "github"}
    )
    assert github.json()["name"] == "repo/x"  # github keys are named owner/repository
    deleted = await client.delete(f"/agent_api_keys/{created['id']}")
    assert deleted.json() == f"Agent API key with ID {created['id']} deleted"
    again = await client.delete(f"/agent_api_keys/{created['id']}")
    assert again.json() == envelope(f"Item with id '{created['id']}' does not exist.", 404)
    await client.post("/agent_api_keys", json={"agent_id": a["id"], "name": "bot"})
    gone = await client.delete("/agent_api_keys/name/bot", params={"agent_id": a["id"]})
    assert gone.json() == "Agent api_key 'bot' deleted"
    missing = await client.delete("/agent_api_keys/name/bot", params={"agent_id": a["id"]})
    assert missing.json() == envelope("Agent api_key not found.", 404)


async def test_refusals_change_nothing(client: httpx.AsyncClient) -> None:
    a = await agent(client)
    b = await agent(client)
    first = await client.post(
        "/agent_api_keys", json={"agent_id": a["id"], "name": "ci", "api_key": "shared-value-1"}
    )
    assert first.status_code == 200
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"name": "x"}, 400,
         "Either 'agent_id' or 'agent_name' must be provided to create an agent api_key."),
        (
            {"agent_id": a["id"], "agent_name": a["name"], "name": "x"},
            400,
            "Only one of 'agent_id' or 'agent_name' should be provided to create an agent api_key.",
        ),
        ({"agent_id": a["id"], "name": "x", "api_key_type": "internal"}, 400,
         "Internal agent API keys are minted by registration."),
        ({"agent_id": a["id"], "name": "ci"}, 400,
         f"external agent API key 'ci' already exists for agent ID {a['id']}."),
        ({"agent_id": b["id"], "name": "other", "api_key": "shared-value-1"}, 400,
         "Item already exists. Please check all unique constraints and try again."),
        ({"agent_id": "nope", "name": "x"}, 404, "Item with id 'nope' does not exist."),
        ({"agent_name": "nope", "name": "x"}, 404, "Item with name 'nope' does not exist."),
    ]  # fmt: skip
    for body, status, expected in cases:
        r = await client.post("/agent_api_keys", json=body)
        assert (r.status_code, r.json()) == (status, envelope(expected, status)), body
    assert (await client.post("/agent_api_keys", json={"agent_id": a["id"], "name": "x",
            "api_key_type": "bogus"})).status_code == 422  # fmt: skip
    for agent_row in (a, b):
        keys = (await client.get("/agent_api_keys", params={"agent_id": agent_row["id"]})).json()
        assert [k["name"] for k in keys] == (["ci"] if agent_row is a else [])
    await client.delete(f"/agents/{b['id']}")
    r = await client.get("/agent_api_keys", params={"agent_id": b["id"]})
    assert r.json() == envelope(f"Agent {b['id']} not found", 404)
    r = await client.get("/agent_api_keys", params={"agent_name": b["name"]})
    assert r.json() == envelope(f"Agent {b['name']} not found", 404)
    r = await client.get("/agent_api_keys")
    assert r.json()["message"] == (
        "Either 'agent_id' or 'agent_name' must be provided to list agent api_keys."
    )
    r = await client.get("/agent_api_keys/name/ci")
    assert r.json()["message"] == (
        "Either 'agent_id' or 'agent_name' must be provided to get an agent api_key."
    )
    r = await client.get(f"/agent_api_keys/{uuid.uuid4()}")
    assert r.status_code == 404


async def test_list_pages_oldest_first(client: httpx.AsyncClient) -> None:
    a = await agent(client)
    for n in range(5):
        await client.post("/agent_api_keys", json={"agent_id": a["id"], "name": f"k{n}"})
    page = await client.get(
        "/agent_api_keys", params={"agent_id": a["id"], "limit": 2, "page_number": 2}
    )
    assert [k["name"] for k in page.json()] == ["k2", "k3"]
    assert (
        await client.get("/agent_api_keys", params={"agent_id": a["id"], "limit": 1001})
    ).status_code == 422
