"""``alembic upgrade head`` produces exactly the schema the models declare, on each database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from agentkeep import migrate
from agentkeep.store.tables import metadata


async def test_upgrade_head_matches_models(db_url: str) -> None:
    # db_url is already migrated; running again must be a no-op.
    assert await migrate.upgrade(db_url) == []
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn):  # type: ignore[no-untyped-def]
                ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return compare_metadata(ctx, metadata)

            assert await conn.run_sync(diff) == []
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert set(metadata.tables) <= tables


async def test_status_check_rejects_unknown_status(store) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    async with store.engine.connect() as conn:
        try:
            await conn.execute(
                text(
                    "INSERT INTO tasks (id, status, version, created_at, updated_at) "
                    "VALUES ('x', 'SLEEPING', 1, '2026-01-01', '2026-01-01')"
                )
            )
        except IntegrityError:
            return
    raise AssertionError("the CHECK constraint accepted an unknown status")
