"""The migration that hashes clear-text agent keys, run on data, on each database."""

from __future__ import annotations

import hashlib
import secrets

import httpx
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from agentkeep import migrate
from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import running_app

OPS = {"x-api-key": "ops-secret-key"}


def _downgrade(connection: Connection, revision: str) -> None:
    cfg = migrate.alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


async def _seed_clear_text_key(db_url: str, key: str) -> None:
    """Go back to the schema that stored keys in clear and store one, as it did."""
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade, "0001")
            now = "2026-01-01 00:00:00+00:00"
            await conn.execute(
                text(
                    "INSERT INTO agents (id, name, description, status, acp_type, acp_url, "
                    "created_at, updated_at) VALUES ('a1', 'legacy', '', 'Ready', 'sync', "
                    f"'http://127.0.0.1:9', '{now}', '{now}')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO agent_keys (agent_id, api_key, created_at) "
                    f"VALUES ('a1', :key, '{now}')"
                ),
                {"key": key},
            )
    finally:
        await engine.dispose()


async def test_upgrade_hashes_clear_text_keys(db_url: str) -> None:
    old_key = secrets.token_hex(32)
    await _seed_clear_text_key(db_url, old_key)
    assert await migrate.upgrade(db_url) != []
    store = SqlStore(db_url)
    try:
        async with store.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT * FROM agent_keys"))).mappings().all()
        assert [dict(r) for r in rows] == [
            {
                "agent_id": "a1",
                "key_hash": hashlib.sha256(old_key.encode()).hexdigest(),
                "nonce": None,
                "created_at": rows[0]["created_at"],
            }
        ]
        # The old key still authenticates; the server has no clear text to forward...
        assert await store.agent_key("a1") is None
        settings = Settings(database_url=db_url, api_keys="ops:ops-secret-key")
        async with running_app(create_app(settings, store=store)) as api:
            await _old_key_works_until_the_agent_registers(api, store, old_key)
    finally:
        await store.close()


async def _old_key_works_until_the_agent_registers(
    api: httpx.AsyncClient, store: SqlStore, old_key: str
) -> None:
    old = {"x-agent-api-key": old_key}
    assert (await api.get("/tasks", headers=old)).status_code == 200
    # ...so the agent's next registration (with its old key) hands it a derived one.
    body = {"name": "legacy", "description": "", "acp_url": "http://127.0.0.1:9"}
    r = await api.post("/agents/register", json=body, headers=old)
    new_key = r.json()["agent_api_key"]
    assert r.status_code == 200 and new_key != old_key
    assert await store.agent_key("a1") == new_key
    assert (await api.get("/tasks", headers=old)).status_code == 401
    assert (await api.get("/tasks", headers={"x-agent-api-key": new_key})).status_code == 200
