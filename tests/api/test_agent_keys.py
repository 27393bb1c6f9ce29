"""Agent keys (issue 7, items 2 and 3): who manages agents, revocation, hashing, rotation."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agentkeep import keys
from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from agentkeep.store.tables import agent_keys, agents
from tests.api.test_auth import OPS, UNAUTHORIZED, Agent, create_task, register
from tests.conftest import running_app

SECRET = "s" * 16 + "e" * 16 + "c" * 16


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    store = SqlStore(db_url, agent_key_secret=SECRET.encode())
    settings = Settings(database_url=db_url, api_keys="ops:ops-secret-key", agent_key_secret=SECRET)
    try:
        async with running_app(create_app(settings, store=store)) as c:
            c.store = store  # type: ignore[attr-defined]
            yield c
    finally:
        await store.close()


def forbidden(action: str) -> dict[str, Any]:
    message = f"Agent keys cannot {action}; use an API key (AGENTKEEP_API_KEYS)."
    return {"message": message, "code": 403, "data": None}


def body_of(agent: Agent, acp_url: str = "http://127.0.0.1:9") -> dict[str, Any]:
    return {"name": agent.name, "description": "", "acp_url": acp_url, "acp_type": "sync"}


async def test_agent_key_cannot_delete_other_agents(api: httpx.AsyncClient) -> None:
    mine, theirs = await register(api), await register(api)
    for path in (f"/agents/{theirs.id}", f"/agents/name/{theirs.name}"):
        r = await api.delete(path, headers=mine.headers)
        assert r.status_code == 403 and r.json() == forbidden("delete other agents")
    r = await api.get(f"/agents/{theirs.id}", headers=OPS)
    assert r.status_code == 200 and r.json()["status"] == "Ready"
    assert (await api.get("/tasks", headers=theirs.headers)).status_code == 200


async def test_agent_deletes_itself_and_api_key_deletes_any(api: httpx.AsyncClient) -> None:
    one, two = await register(api), await register(api)
    assert (await api.delete(f"/agents/name/{one.name}", headers=one.headers)).status_code == 200
    assert (await api.delete(f"/agents/{two.id}", headers=OPS)).status_code == 200
    for agent in (one, two):
        assert (await api.get(f"/agents/{agent.id}", headers=OPS)).status_code == 404


async def test_register_build_needs_an_api_key(api: httpx.AsyncClient) -> None:
    agent = await register(api)
    body = {"name": "built-by-agent", "description": ""}
    r = await api.post("/agents/register-build", json=body, headers=agent.headers)
    assert r.status_code == 403 and r.json() == forbidden("register agent builds")
    assert (await api.get("/agents/name/built-by-agent", headers=OPS)).status_code == 404
    r = await api.post("/agents/register-build", json=body, headers=OPS)
    assert r.status_code == 200 and r.json()["status"] == "BuildOnly"


async def test_agent_keys_read_agents_but_never_keys(api: httpx.AsyncClient) -> None:
    mine, theirs = await register(api), await register(api)
    listed = (await api.get("/agents", headers=mine.headers)).json()
    assert {a["id"] for a in listed} == {mine.id, theirs.id}
    for path in (f"/agents/{theirs.id}", f"/agents/name/{theirs.name}"):
        r = await api.get(path, headers=mine.headers)
        assert r.status_code == 200 and r.json()["id"] == theirs.id
    shown = [*listed, r.json()]
    assert not any({"agent_api_key", "acp_url", "api_key"} & a.keys() for a in shown)
    assert theirs.key not in (await api.get("/agents", headers=mine.headers)).text


async def test_deleted_agents_key_fails_everywhere(api: httpx.AsyncClient) -> None:
    agent, other = await register(api), await register(api)
    task = await create_task(api, other, agent.headers)
    assert (await api.get(f"/tasks/{task['id']}", headers=agent.headers)).status_code == 200
    assert (await api.delete(f"/agents/{agent.id}", headers=OPS)).status_code == 200
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}
    for method, path, body in (
        ("GET", f"/tasks/{task['id']}", None),
        ("GET", "/agents", None),
        ("POST", f"/agents/{other.id}/rpc", rpc),
        ("POST", "/agents/register", body_of(agent)),
        ("POST", f"/tasks/{task['id']}/complete", {}),
    ):
        r = await api.request(method, path, json=body, headers=agent.headers)
        assert r.status_code == 401 and r.json() == UNAUTHORIZED, (path, r.text)
    assert (await api.get(f"/tasks/{task['id']}", headers=OPS)).json()["status"] == "RUNNING"


async def test_keys_are_stored_as_hashes_only(api: httpx.AsyncClient) -> None:
    agent = await register(api)
    store: SqlStore = api.store  # type: ignore[attr-defined]
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(agent_keys))).one()._mapping
    assert row["key_hash"] == hashlib.sha256(agent.key.encode()).hexdigest()
    assert agent.key not in {str(v) for v in row.values()}
    assert len(agent.key) == 64 and int(agent.key, 16) >= 0
    # The database alone does not give the key back: it is derived with the secret.
    assert keys.derive(b"", agent.id, row["nonce"]) != agent.key
    assert await store.agent_key(agent.id) == agent.key


async def test_reregistration_returns_the_current_key(api: httpx.AsyncClient) -> None:
    agent = await register(api)
    for headers in (agent.headers, OPS, {"x-agent-api-key": "ops-secret-key"}):
        r = await api.post("/agents/register", json=body_of(agent), headers=headers)
        assert r.status_code == 200 and r.json()["agent_api_key"] == agent.key


async def test_rotation_replaces_the_key_at_once(api: httpx.AsyncClient) -> None:
    agent = await register(api)
    old = agent.headers
    r = await api.post(f"/agents/{agent.id}/rotate-key", headers=OPS)
    assert r.status_code == 200
    rotated = r.json()
    new_key = rotated.pop("agent_api_key")
    assert rotated == (await api.get(f"/agents/{agent.id}", headers=OPS)).json()
    assert len(new_key) == 64 and new_key != agent.key
    assert (await api.get("/tasks", headers=old)).status_code == 401
    assert (await api.get("/tasks", headers={"x-agent-api-key": new_key})).status_code == 200
    # What the server now presents to the agent, and what registration answers.
    assert await api.store.agent_key(agent.id) == new_key  # type: ignore[attr-defined]
    r = await api.post("/agents/register", json=body_of(agent), headers=OPS)
    assert r.json()["agent_api_key"] == new_key
    r = await api.post("/agents/register", json=body_of(agent), headers=old)
    assert r.status_code == 401


async def test_who_may_rotate(api: httpx.AsyncClient) -> None:
    mine, theirs = await register(api), await register(api)
    r = await api.post(f"/agents/name/{theirs.name}/rotate-key", headers=mine.headers)
    assert r.status_code == 403 and r.json() == forbidden("rotate other agents' keys")
    assert (await api.get("/tasks", headers=theirs.headers)).status_code == 200
    r = await api.post(f"/agents/name/{mine.name}/rotate-key", headers=mine.headers)
    assert r.status_code == 200 and r.json()["agent_api_key"] != mine.key
    assert (await api.get("/tasks", headers=mine.headers)).status_code == 401
    for path in ("/agents/name/nobody/rotate-key", f"/agents/{'0' * 32}/rotate-key"):
        r = await api.post(path, headers=OPS)
        assert r.status_code == 404 and r.json()["code"] == 404
    assert (await api.post(f"/agents/{theirs.id}/rotate-key")).status_code == 401


async def test_deleted_agent_cannot_be_rotated_and_comes_back_with_a_new_key(
    api: httpx.AsyncClient,
) -> None:
    agent = await register(api)
    assert (await api.delete(f"/agents/{agent.id}", headers=OPS)).status_code == 200
    r = await api.post(f"/agents/{agent.id}/rotate-key", headers=OPS)
    assert r.status_code == 404 and r.json()["message"] == f"Agent {agent.id} not found"
    r = await api.post("/agents/register", json=body_of(agent), headers=OPS)
    assert r.status_code == 200 and r.json()["id"] == agent.id
    assert r.json()["agent_api_key"] != agent.key
    assert (await api.get("/tasks", headers=agent.headers)).status_code == 401


async def test_a_key_minted_under_another_secret_is_replaced_at_registration(
    api: httpx.AsyncClient, db_url: str
) -> None:
    agent = await register(api)
    other = SqlStore(db_url, agent_key_secret=b"x" * 32)
    try:
        # A process with a different secret cannot present the key: it sends none...
        assert await other.agent_key(agent.id) is None
    finally:
        await other.close()
    # ...while the key still authenticates. A key that cannot be derived any more (here:
    # its nonce no longer matches its hash) is replaced at the agent's next registration.
    assert (await api.get("/tasks", headers=agent.headers)).status_code == 200
    async with api.store.engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.execute(agent_keys.update().values(nonce="0" * 32))
    r = await api.post("/agents/register", json=body_of(agent), headers=agent.headers)
    healed = r.json()["agent_api_key"]
    assert r.status_code == 200 and healed != agent.key
    assert await api.store.agent_key(agent.id) == healed  # type: ignore[attr-defined]
    assert (await api.get("/tasks", headers=agent.headers)).status_code == 401


async def test_store_never_authenticates_a_deleted_agent(api: httpx.AsyncClient) -> None:
    agent = await register(api)
    store: SqlStore = api.store  # type: ignore[attr-defined]
    # Even with its key row left behind (as rows deleted before this release may have).
    async with store.engine.begin() as conn:
        await conn.execute(agents.update().where(agents.c.id == agent.id).values(status="Deleted"))
    assert await store.agent_by_key(agent.key) is None
    assert (await api.get("/tasks", headers=agent.headers)).status_code == 401
