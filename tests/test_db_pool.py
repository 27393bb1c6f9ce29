"""The test database pool hands out databases as fresh as a clone of the template.

Every PostgreSQL test depends on this: a row or a sequence value left over from an earlier
test would leak into the next one.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import PgDatabases, _pg_admin_dsn, running_app

pytestmark = pytest.mark.postgres


async def _fill(url: str) -> None:
    store = SqlStore(url)
    try:
        async with running_app(create_app(Settings(database_url=url), store=store)) as client:
            r = await client.post(
                "/agents/register",
                json={
                    "name": "pooled",
                    "description": "d",
                    "acp_url": "http://127.0.0.1:9",
                    "acp_type": "sync",
                },
            )
            agent = r.json()
            rpc = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}
            r = await client.post(f"/agents/{agent['id']}/rpc", json=rpc)
            task = r.json()["result"]
            assert (await client.post(f"/tasks/{task['id']}/complete")).status_code == 200
    finally:
        await store.close()


async def _contents(dsn: str, tables: list[str]) -> dict[str, int]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        counts = {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}
        for seq in await conn.fetch("SELECT relname FROM pg_class WHERE relkind = 'S'"):
            counts[seq["relname"]] = await conn.fetchval(f"SELECT nextval('\"{seq['relname']}\"')")
    finally:
        await conn.close()
    return counts


def test_a_reused_database_is_as_fresh_as_a_clone(pg_databases: PgDatabases) -> None:
    def contents(name: str) -> dict[str, int]:
        dsn = _pg_admin_dsn(pg_databases.url(name))
        return asyncio.run(_contents(dsn, pg_databases.tables))

    name = pg_databases.take()
    fresh = contents(name)
    pg_databases.give_back(name)  # nextval above moved the sequences: emptying resets them
    name = pg_databases.take()
    asyncio.run(_fill(pg_databases.url(name)))
    assert contents(name) != fresh
    pg_databases.give_back(name)

    again = pg_databases.take()
    assert again == name
    assert contents(again) == fresh
    pg_databases.give_back(again)
