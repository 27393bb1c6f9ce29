"""Applying migrations once, under a lock, before any worker starts.

Postgres: a session advisory lock, so several hosts starting at once migrate one at a time
(the later ones find nothing to do). SQLite: ``BEGIN IMMEDIATE`` on the migration's own
connection excludes every other writer for the duration.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

#: An arbitrary constant that names agentkeep's migration lock among advisory locks.
ADVISORY_LOCK_ID = 0x61_67_6B_70

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _pending(connection: Connection) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    current = MigrationContext.configure(connection).get_current_heads()
    return (
        [
            rev.revision
            for rev in script.walk_revisions(base="base", head="heads")
            if rev.revision not in current
        ]
        if not set(current) >= set(script.get_heads())
        else []
    )


async def upgrade(url: str, revision: str = "head") -> list[str]:
    """Apply pending migrations; return the revisions that were pending before."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_ID})
                await conn.commit()
            else:
                await conn.exec_driver_sql("PRAGMA busy_timeout=30000")
                # WAL persists in the file: set it here, once, before any server connection.
                await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            try:
                pending = await conn.run_sync(_pending)
                await conn.run_sync(_upgrade, revision)
                await conn.commit()
            finally:
                if conn.dialect.name == "postgresql":
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_ID}
                    )
                    await conn.commit()
        return pending
    finally:
        await engine.dispose()


def upgrade_sync(url: str, revision: str = "head") -> list[str]:
    return asyncio.run(upgrade(url, revision))
