"""Agent keys across real server processes on one PostgreSQL and one Redis.

What one process revokes (a deleted agent, a rotated key) fails on the very next request
to the other, and both processes derive the same key to present to an agent.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acp_kit import spawn_agent, wait_registered
from tests.conftest import ServerProcess, service_url, start_server, stop_server

OPS = {"x-api-key": "ops-secret-key"}
#: Several processes need Redis and, for this, one database server: PostgreSQL.
POSTGRES_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def two_servers(db_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {
        "AGENTKEEP_DATABASE_URL": db_url,
        "AGENTKEEP_REDIS_URL": service_url("TEST_REDIS_URL"),
        "AGENTKEEP_API_KEYS": "ops:ops-secret-key",
        "AGENTKEEP_AGENT_KEY_SECRET": secrets.token_hex(32),
    }
    first = start_server(env, tmp_path / "a.log")
    try:
        second = start_server(env, tmp_path / "b.log")
    except BaseException:
        stop_server(first)
        raise
    yield first, second
    stop_server(second)
    stop_server(first)


def register(http: httpx.Client, server: ServerProcess) -> tuple[str, dict[str, str]]:
    body = {"name": f"a-{uuid.uuid4().hex[:8]}", "acp_url": "http://127.0.0.1:9"}
    r = http.post(f"{server.url}/agents/register", json=body, headers=OPS)
    assert r.status_code == 200, r.text
    return r.json()["id"], {"x-agent-api-key": r.json()["agent_api_key"]}


def status(http: httpx.Client, server: ServerProcess, headers: dict[str, str]) -> int:
    return http.get(f"{server.url}/tasks", headers=headers).status_code


@POSTGRES_ONLY
def test_delete_and_rotation_revoke_in_every_process(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_servers
    with httpx.Client(timeout=10) as http:
        deleted_id, deleted = register(http, a)
        rotated_id, rotated = register(http, b)
        # Both processes have served both keys before they are revoked.
        assert {status(http, s, h) for s in (a, b) for h in (deleted, rotated)} == {200}
        assert http.delete(f"{b.url}/agents/{deleted_id}", headers=OPS).status_code == 200
        assert [status(http, s, deleted) for s in (a, b)] == [401, 401]
        r = http.post(f"{a.url}/agents/{rotated_id}/rotate-key", headers=OPS)
        new = {"x-agent-api-key": r.json()["agent_api_key"]}
        assert [status(http, s, rotated) for s in (b, a)] == [401, 401]
        assert [status(http, s, new) for s in (b, a)] == [200, 200]


@POSTGRES_ONLY
def test_each_process_presents_the_key_the_agent_was_given(
    two_servers: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    a, b = two_servers
    name = f"echo-{uuid.uuid4().hex[:6]}"
    # The agent registers through one process with the operator's key, as agentex-sdk
    # agents do, adopts the agent key it is given and refuses calls without it.
    env = {"AGENT_API_KEY": "ops-secret-key"}
    agent = spawn_agent(a.url, name, "sync", tmp_path / "agent.log", env)
    try:
        # Startup time is not under test: a loaded CI machine may take a while.
        wait_registered(agent, timeout=120)
        with httpx.Client(timeout=30) as http:
            for server, said in ((b, "from b"), (a, "from a")):
                content = {"type": "text", "author": "user", "content": said}
                rpc = {"jsonrpc": "2.0", "id": 1, "method": "message/send"}
                rpc["params"] = {"content": content}
                r = http.post(f"{server.url}/agents/name/{name}/rpc", json=rpc, headers=OPS)
                assert r.status_code == 200 and r.json()["error"] is None, r.text
                # The echo agent answered: it accepted the key this process presented.
                assert r.json()["result"][0]["content"]["content"] == said
        assert [c["method"] for c in agent.received()] == ["message/send", "message/send"]
    finally:
        agent.stop()
