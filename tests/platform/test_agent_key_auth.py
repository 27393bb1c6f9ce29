"""Agent API keys as credentials, with API keys configured (platform.md, Who may call what)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import ServerProcess, running_app, service_url, start_server, stop_server
from tests.platform.kit import OPS, OPS_KEY, envelope, register

FORBIDDEN = envelope("Agent keys cannot manage agent API keys", 403)


@pytest.fixture
async def api(db_url: str, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=db_url, api_keys=f"ops:{OPS_KEY}")
    async with running_app(create_app(settings, store=store)) as c:
        yield c


async def external_key(http: httpx.AsyncClient, agent: dict[str, Any], name: str = "ext") -> Any:
    r = await http.post(
        "/agent_api_keys", json={"agent_id": agent["id"], "name": name}, headers=OPS
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_external_key_is_an_agent_key_for_its_own_agent(api: httpx.AsyncClient) -> None:
    mine, theirs = await register(api, headers=OPS), await register(api, headers=OPS)
    key = {"x-agent-api-key": (await external_key(api, mine))["api_key"]}
    assert (await api.get(f"/agents/{mine['id']}/deployments", headers=key)).status_code == 200
    r = await api.get(f"/agents/{theirs['id']}/deployments", headers=key)
    assert r.json() == envelope(f"Item with id '{theirs['id']}' does not exist.", 404)
    r = await api.post(
        f"/agents/{theirs['id']}/deployments", json={"docker_image": "x"}, headers=key
    )
    assert r.status_code == 404
    r = await api.get("/deployment-history", params={"agent_id": theirs["id"]}, headers=key)
    assert r.json() == envelope(f"Item with id '{theirs['id']}' does not exist.", 404)
    own = await api.get("/agent_api_keys", params={"agent_id": mine["id"]}, headers=key)
    assert [k["name"] for k in own.json()] == ["ext"]
    other = await external_key(api, theirs, "theirs")
    r = await api.get("/agent_api_keys", params={"agent_id": theirs["id"]}, headers=key)
    assert r.json() == envelope(f"Item with id '{theirs['id']}' does not exist.", 404)
    r = await api.get(f"/agent_api_keys/{other['id']}", headers=key)
    assert r.json() == envelope(f"Item with id '{other['id']}' does not exist.", 404)


async def test_agent_keys_cannot_manage_keys(api: httpx.AsyncClient) -> None:
    agent = await register(api, headers=OPS)
    created = await external_key(api, agent)
    for key in (agent["agent_api_key"], created["api_key"]):
        headers = {"x-agent-api-key": key}
        attempts = [
            api.post(
                "/agent_api_keys", json={"agent_id": agent["id"], "name": "n"}, headers=headers
            ),
            api.delete(f"/agent_api_keys/{created['id']}", headers=headers),
            api.delete(
                "/agent_api_keys/name/ext", params={"agent_id": agent["id"]}, headers=headers
            ),
            api.post(
                "/agent_api_keys/webhook-trigger",
                json={"agent_name": agent["name"], "name": "o/r", "forward_path": "gh"},
                headers=headers,
            ),
        ]
        for attempt in attempts:
            r = await attempt
            assert (r.status_code, r.json()) == (403, FORBIDDEN)
    listed = await api.get("/agent_api_keys", params={"agent_id": agent["id"]}, headers=OPS)
    assert [k["id"] for k in listed.json()] == [created["id"]]


async def test_webhook_secrets_never_authenticate(api: httpx.AsyncClient) -> None:
    agent = await register(api, headers=OPS)
    r = await api.post(
        "/agent_api_keys",
        json={
            "agent_id": agent["id"],
            "name": "o/r",
            "api_key_type": "github",
            "api_key": "gh-s3cret",
        },
        headers=OPS,
    )
    assert r.status_code == 200
    r = await api.get(f"/agents/{agent['id']}", headers={"x-agent-api-key": "gh-s3cret"})
    assert r.status_code == 401


@pytest.fixture
def two_servers(db_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    # Two processes on one database need a shared bus (``serve`` refuses otherwise).
    env = {
        "AGENTKEEP_DATABASE_URL": db_url,
        "AGENTKEEP_API_KEYS": f"ops:{OPS_KEY}",
        "AGENTKEEP_REDIS_URL": service_url("TEST_REDIS_URL"),
    }
    first = start_server(env, tmp_path / "a.log")
    try:
        second = start_server(env, tmp_path / "b.log")
    except Exception:
        stop_server(first)
        raise
    yield first, second
    stop_server(second)
    stop_server(first)


async def test_revocation_is_immediate_in_every_process(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_servers
    async with httpx.AsyncClient(base_url=a.url) as on_a, httpx.AsyncClient(base_url=b.url) as on_b:
        agent = await register(on_a, headers=OPS)
        created = await external_key(on_a, agent)
        key = {"x-agent-api-key": created["api_key"]}
        assert (await on_b.get(f"/agents/{agent['id']}", headers=key)).status_code == 200
        assert (
            await on_a.delete(f"/agent_api_keys/{created['id']}", headers=OPS)
        ).status_code == 200
        r = await on_b.get(f"/agents/{agent['id']}", headers=key)
        assert (r.status_code, r.json()["message"]) == (401, "Unauthorized")
    assert "Traceback" not in a.output() + b.output()
