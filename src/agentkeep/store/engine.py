"""Engines for the one SQL store: connection setup that differs between SQLite and Postgres.

SQLite gets WAL (readers never block the writer), a busy timeout for other processes (the
CLI, a migration) and write transactions that begin IMMEDIATE, so a write never upgrades a
read lock half-way and dies with SQLITE_BUSY. The store's own write transactions and
lookups by key run on the event loop's thread (``store.inline``): they take microseconds,
less than a round trip to aiosqlite's worker threads, which keep the scans. Reads run in
autocommit on both databases: one statement, no BEGIN/ROLLBACK round trips on the hot path.

Every wait on the database is bounded (``Timeouts``): connecting, each command (client
side, so a frozen or partitioned server cannot stall a request), each statement (server
side, ``statement_timeout``), waiting for a pooled connection, and SQLite's busy wait.
A request that hits one fails fast with 503 (``store.dberrors``), never hangs.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agentkeep.store import jsonmatch
from agentkeep.store.inline import InlineSQLite

#: SQLite ≥ 3.35 is needed for ``UPDATE … RETURNING``.
MIN_SQLITE = (3, 35, 0)
MIN_BUSY_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Engines:
    """The engines of one store: what each kind of work runs on."""

    #: Write transactions (``IMMEDIATE`` on SQLite, where the store itself writes inline and
    #: this engine serves ``SqlBase.engine``'s other users).
    write: AsyncEngine
    #: Autocommit reads, scans included.
    read: AsyncEngine
    #: SQLite: write transactions and lookups by key on the event loop's thread.
    inline: InlineSQLite | None = None


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Bounds on every wait for the database, in seconds."""

    connect: float = 5.0
    command: float = 10.0


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


def _setup_sqlite(engine: Engine, *, immediate: bool, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        # WAL is a property of the file, set once by ``migrate``. Switching needs an
        # exclusive lock that SQLite does not wait for, so connections opened while others
        # work would fail with "database is locked": only switch when it is not WAL yet.
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        dbapi_connection.create_function(
            jsonmatch.SQLITE_FUNCTION, 2, jsonmatch.sqlite_contains, deterministic=True
        )

    if immediate:

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def asyncpg_timeouts(timeouts: Timeouts) -> dict[str, Any]:
    """Connection arguments bounding asyncpg: connect, each command, each statement."""
    return {
        "timeout": timeouts.connect,
        "command_timeout": timeouts.command,
        "server_settings": {"statement_timeout": str(int(timeouts.command * 1000))},
    }


def make_engines(url: str, *, pool_size: int = 10, timeouts: Timeouts | None = None) -> Engines:
    """The engines for ``url``."""
    timeouts = timeouts or Timeouts()
    if url.startswith("sqlite"):
        check_sqlite_version()
        common = {"pool_timeout": timeouts.command, **_engine_kwargs()}
        # At least 5 s: a migration or the CLI may hold the write lock that long.
        busy = max(timeouts.command, MIN_BUSY_TIMEOUT_SECONDS)
        write = create_async_engine(url, pool_size=1, max_overflow=0, **common)
        read = create_async_engine(url, pool_size=pool_size, **common)
        inline = InlineSQLite(url, busy_timeout=busy, **common)
        _setup_sqlite(write.sync_engine, immediate=True, busy_timeout=busy)
        _setup_sqlite(read.sync_engine, immediate=False, busy_timeout=busy)
        # Inline connections wait for locks asynchronously (``store.inline``), never in
        # SQLite's busy handler, which would sleep on the event loop's thread.
        _setup_sqlite(inline.engine, immediate=False, busy_timeout=0)
        return Engines(write=write, read=read, inline=inline)
    write = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        pool_timeout=timeouts.command,
        connect_args=asyncpg_timeouts(timeouts),
        **_engine_kwargs(),
    )
    return Engines(write=write, read=write.execution_options(isolation_level="AUTOCOMMIT"))
