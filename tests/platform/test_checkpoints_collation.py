"""Checkpoint ids compare bytewise on PostgreSQL even when the database's own collation
follows a locale: "latest" is the greatest id, so the id columns are ``COLLATE "C"``.

The shared test databases use C.UTF-8, which already orders bytewise for UTF-8; this test
builds a database whose default is ICU's en-US (which sorts "a" before "B") to show the
columns do not depend on it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from agentkeep import migrate
from agentkeep.store import SqlStore
from agentkeep.store.checkpoints import CheckpointQuery
from tests.conftest import service_url

pytestmark = pytest.mark.postgres


@pytest.fixture
async def locale_store() -> AsyncIterator[SqlStore]:
    base = service_url("TEST_POSTGRES_URL")
    admin_dsn = make_url(base).set(drivername="postgresql").render_as_string(False)
    name = f"agentkeep_icu_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await admin.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
            "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
        url = make_url(base).set(database=name).render_as_string(False)
        await migrate.upgrade(url)
        store = SqlStore(url)
        try:
            yield store
        finally:
            await store.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_latest_is_the_bytewise_greatest_id(locale_store: SqlStore) -> None:
    async with locale_store.engine.connect() as conn:
        locale_says = await conn.exec_driver_sql("SELECT 'B' > 'a'")
        assert locale_says.scalar_one() is True  # the database's own order is not bytewise
    for cid in ("a", "B", "1"):
        values = {
            "thread_id": "t",
            "checkpoint_ns": "",
            "checkpoint_id": cid,
            "parent_checkpoint_id": None,
            "checkpoint": {},
            "metadata": {},
        }
        await locale_store.put_checkpoint(values, [])
    latest = await locale_store.get_checkpoint_tuple("t", "", None)
    assert latest is not None and latest["checkpoint_id"] == "a"
    listed = await locale_store.list_checkpoints(CheckpointQuery(thread_id="t"))
    assert [c["checkpoint_id"] for c in listed] == ["a", "B", "1"]
    older = await locale_store.list_checkpoints(CheckpointQuery("t", before_checkpoint_id="a"))
    assert [c["checkpoint_id"] for c in older] == ["B", "1"]
