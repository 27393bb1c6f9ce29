"""The forward ingress against a real tiny HTTP server standing in for an agent."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from agentkeep.store import SqlStore
from tests.conftest import free_port
from tests.platform.kit import OPS, OPS_KEY, StandIn, envelope, live_app, register, stand_in


@dataclass
class Rig:
    http: httpx.AsyncClient
    agent: StandIn
    registered: dict[str, Any]
    external: str

    @property
    def base(self) -> str:
        return f"/agents/forward/name/{self.registered['name']}"


@pytest.fixture
async def rig(db_url: str, store: SqlStore) -> AsyncIterator[Rig]:
    async with (
        stand_in() as agent,
        live_app(db_url, store, api_keys=f"ops:{OPS_KEY}", forward_timeout_seconds=15) as (_, http),
    ):
        registered = await register(http, agent.url, headers=OPS)
        r = await http.post(
            "/agent_api_keys", json={"agent_id": registered["id"], "name": "ext"}, headers=OPS
        )
        yield Rig(http, agent, registered, r.json()["api_key"])


async def test_external_key_call_passes_body_status_and_headers(rig: Rig) -> None:
    r = await rig.http.post(
        f"{rig.base}/hooks/a%20b?status=201&x=1",
        content=b"raw body \x00 bytes",
        headers={
            "x-agent-api-key": rig.external,
            "x-api-key": "not-for-the-agent",
            "cookie": "session=secret",
            "authorization": "Bearer caller-token",
            "x-custom": "kept",
            "x-request-id": "req-42",
            "connection": "keep-alive, x-hop",
            "x-hop": "dropped",
            "content-type": "application/octet-stream",
        },
    )
    assert r.status_code == 201 and r.json() == {"path": "/hooks/a b"}
    assert r.headers["x-agent-says"] == "hello" and r.headers["set-cookie"] == "agent=1"
    [seen] = rig.agent.seen
    assert (seen.method, seen.path, seen.query, seen.body) == (
        "POST",
        "/hooks/a b",
        "status=201&x=1",
        b"raw body \x00 bytes",
    )
    # The caller's credentials stay here; the agent gets its own key, as on every call.
    assert seen.header("x-agent-api-key") == [rig.registered["agent_api_key"]]
    assert seen.header("x-api-key") == [] and seen.header("cookie") == []
    assert seen.header("x-hop") == []
    # Authorization did not carry the accepted credential: it passes, like any header.
    assert seen.header("authorization") == ["Bearer caller-token"]
    assert seen.header("x-custom") == ["kept"] and seen.header("x-request-id") == ["req-42"]
    assert seen.header("content-type") == ["application/octet-stream"]


async def test_authorization_carrying_the_credential_is_dropped(rig: Rig) -> None:
    for auth in (f"agentkey {rig.external}", f"Bearer {OPS_KEY}"):
        r = await rig.http.get(f"{rig.base}/hooks", headers={"authorization": auth})
        assert r.status_code == 200, r.text
    assert [s.header("authorization") for s in rig.agent.seen] == [[], []]


async def test_authentication_order_and_failures(rig: Rig) -> None:
    agent_id = rig.registered["id"]
    invalid = envelope(f"Invalid API key for agent ID {agent_id}.", 401)
    cases: list[tuple[dict[str, str], int, Any]] = [
        ({}, 403, envelope("Missing authentication for forward request.", 403)),
        ({"authorization": "Bearer wrong-key-123"}, 403, None),
        ({"x-agent-api-key": "wrong"}, 401, invalid),
        # The registration (internal) key is not an ingress credential.
        ({"x-agent-api-key": rig.registered["agent_api_key"]}, 401, invalid),
        # The first rule whose header is present decides: a valid API key does not rescue it.
        ({"authorization": "AgentKey wrong", "x-api-key": OPS_KEY}, 401, invalid),
    ]
    for headers, status, body in cases:
        r = await rig.http.post(f"{rig.base}/hooks", headers=headers)
        assert r.status_code == status, headers
        if body is not None:
            assert r.json() == body
    other = await register(rig.http, rig.agent.url, headers=OPS)
    r = await rig.http.post(
        f"/agents/forward/name/{other['name']}/hooks", headers={"x-agent-api-key": rig.external}
    )
    assert r.json() == envelope(f"Invalid API key for agent ID {other['id']}.", 401)
    assert rig.agent.seen == []


async def test_path_rules(rig: Rig) -> None:
    key = {"x-agent-api-key": rig.external}
    for path, status, message in [
        ("/a/%2e%2e/api", 400, "Invalid forward path."),
        ("/%2E/x", 400, "Invalid forward path."),
        ("/api", 403, "The agent's ACP endpoint cannot be reached through forwarding."),
        ("/api/", 403, "The agent's ACP endpoint cannot be reached through forwarding."),
    ]:
        r = await rig.http.post(rig.base + path, headers=key)
        assert r.json() == envelope(message, status), path
    r = await rig.http.put(f"{rig.base}/hooks", headers=key)
    assert r.status_code == 405
    for name in ("nobody", rig.registered["name"]):
        if name != "nobody":
            await rig.http.delete(f"/agents/{rig.registered['id']}", headers=OPS)
        r = await rig.http.post(f"/agents/forward/name/{name}/hooks", headers=key)
        assert r.json() == envelope(f"Agent {name} not found or has no ACP URL.", 404)
    assert rig.agent.seen == []


async def test_answers_are_streamed(rig: Rig) -> None:
    headers = {"x-agent-api-key": rig.external}
    async with rig.http.stream("GET", f"{rig.base}/stream", headers=headers) as r:
        chunks = r.aiter_bytes()
        # The agent holds its second chunk until the test has read the first.
        assert await anext(chunks) == b"first\n"
        rig.agent.release.set()
        assert b"".join([c async for c in chunks]) == b"second\n"


async def test_unreachable_and_slow_agents(db_url: str, store: SqlStore) -> None:
    async with (
        stand_in() as agent,
        live_app(db_url, store, forward_timeout_seconds=0.5) as (_, http),
    ):
        for acp_url, path, status, message in [
            (f"http://127.0.0.1:{free_port()}", "hooks", 502, "is unreachable."),
            (agent.url, "slow", 504, "did not answer in time."),
        ]:
            registered = await register(http, acp_url)
            made = await http.post(
                "/agent_api_keys", json={"agent_id": registered["id"], "name": "e"}
            )
            r = await http.get(
                f"/agents/forward/name/{registered['name']}/{path}",
                headers={"x-agent-api-key": made.json()["api_key"]},
            )
            expected = f"Agent {registered['name']} {message}"
            assert r.json() == envelope(expected, status)


async def test_forwarding_dials_the_production_deployment(rig: Rig) -> None:
    async with stand_in() as deployed:
        deployment_id = str(uuid.uuid4())
        await register(
            rig.http,
            deployed.url,
            name=rig.registered["name"],
            headers=OPS,
            registration_metadata={"deployment_id": deployment_id},
        )
        key = {"x-agent-api-key": rig.external}
        await rig.http.get(f"{rig.base}/before", headers=key)
        promote = f"/agents/{rig.registered['id']}/deployments/{deployment_id}/promote"
        assert (await rig.http.post(promote, headers=OPS)).status_code == 200
        await rig.http.get(f"{rig.base}/after", headers=key)
    assert [s.path for s in rig.agent.seen] == ["/before"]
    assert [s.path for s in deployed.seen] == ["/after"]
