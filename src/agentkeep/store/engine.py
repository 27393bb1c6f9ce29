"""Engines for the one SQL store: connection setup that differs between SQLite and Postgres.

SQLite gets WAL (readers never block the writer), a busy timeout for other processes (the
CLI, a migration) and write transactions that begin IMMEDIATE, so a write never upgrades a
read lock half-way and dies with SQLITE_BUSY. Reads run in autocommit on both databases:
one statement, no BEGIN/ROLLBACK round trips on the hot path.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agentkeep.store import jsonmatch

#: SQLite ≥ 3.35 is needed for ``UPDATE … RETURNING``.
MIN_SQLITE = (3, 35, 0)
BUSY_TIMEOUT_MS = 10_000


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _engine_kwargs() -> dict[str, Any]:
    return {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def check_sqlite_version() -> None:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} is too old: agentkeep needs 3.35 or newer "
            "(UPDATE … RETURNING). Use a newer Python build or PostgreSQL."
        )


def _setup_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # WAL is a property of the file, set once by ``migrate``. Switching needs an
        # exclusive lock that SQLite does not wait for, so connections opened while others
        # work would fail with "database is locked": only switch when it is not WAL yet.
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        dbapi_connection.run_async(
            lambda conn: conn.create_function(
                jsonmatch.SQLITE_FUNCTION, 2, jsonmatch.sqlite_contains, deterministic=True
            )
        )

    if immediate:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engines(url: str, *, pool_size: int = 10) -> tuple[AsyncEngine, AsyncEngine]:
    """Return ``(write_engine, read_engine)`` for ``url``."""
    if url.startswith("sqlite"):
        check_sqlite_version()
        write = create_async_engine(url, pool_size=1, max_overflow=0, **_engine_kwargs())
        read = create_async_engine(url, pool_size=pool_size, **_engine_kwargs())
        _setup_sqlite(write, immediate=True)
        _setup_sqlite(read, immediate=False)
        return write, read
    write = create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False, **_engine_kwargs()
    )
    return write, write.execution_options(isolation_level="AUTOCOMMIT")
