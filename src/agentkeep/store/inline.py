"""SQLite on the event loop's own thread, for the statements that take microseconds.

aiosqlite runs every call of a connection on a thread of its own, and SQLAlchemy's asyncio
adapter makes three or four such calls per statement (cursor, execute, fetch, close), each a
round trip between two threads that costs far more than the statement: a create+complete
pair made 34 of them and ran at ~35 pairs/s, where the same statements through sqlite3 run
at thousands per second. The asyncio layer itself (a greenlet per call, a task per
connection release) cost as much again as the statement.

So write transactions and lookups by key run here, through a plain (sync) SQLAlchemy
engine, on the calling thread: same statements, same result objects, same type handling,
without a thread or a greenlet in between. The event loop waits while a statement runs,
which is why scans stay on aiosqlite's threads (``SqlBase.read``).

Waiting for a lock never blocks the loop: SQLite's busy handler, which sleeps in place, is
off (``timeout=0``), and ``BEGIN IMMEDIATE`` or a lookup that finds the database locked by
another process (the CLI, a migration, a second server) is tried again after an
asynchronous back-off until the busy timeout runs out. Once ``BEGIN IMMEDIATE`` holds the
write lock, no statement of the transaction can meet another writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, create_engine
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.exc import OperationalError

FIRST_BACKOFF_SECONDS = 0.001
MAX_BACKOFF_SECONDS = 0.05

T = TypeVar("T")


class InlineConnection:
    """``await conn.execute(...)``, the one call store code makes on a connection, run at
    once on a sync connection: it returns the same ``CursorResult`` as ``AsyncConnection``.
    """

    __slots__ = ("sync_connection",)

    def __init__(self, sync_connection: Connection) -> None:
        self.sync_connection = sync_connection

    async def execute(
        self,
        statement: Any,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> CursorResult[Any]:
        return self.sync_connection.execute(
            statement, parameters, execution_options=execution_options
        )


def _may_wait(exc: OperationalError) -> bool:
    """Is ``exc`` a lock another connection holds, which waiting may see released?

    Not ``SQLITE_BUSY_SNAPSHOT``: a snapshot gone stale does not come back by waiting
    (SQLite's own busy handler does not wait for it either).
    """
    code = getattr(exc.orig, "sqlite_errorcode", 0)
    return code & 0xFF == sqlite3.SQLITE_BUSY and code != sqlite3.SQLITE_BUSY_SNAPSHOT


class InlineSQLite:
    """A sync engine on ``url``'s file, used from coroutines without leaving the loop."""

    def __init__(self, url: str, *, busy_timeout: float, **engine_kwargs: Any) -> None:
        self.busy_timeout = busy_timeout
        # Writes take turns on one connection (``SqlBase.write``); the others serve lookups
        # that run while a write transaction waits (for a lock, or in its caller).
        self.engine: Engine = create_engine(
            make_url(url).set(drivername="sqlite+pysqlite"),
            pool_size=2,
            max_overflow=8,
            connect_args={"timeout": 0},
            **engine_kwargs,
        )

    async def _patiently(self, attempt: Callable[[], T]) -> T:
        """``attempt()``, tried again while another process holds the lock it needs."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout
        delay = FIRST_BACKOFF_SECONDS
        while True:
            try:
                return attempt()
            except OperationalError as exc:
                # Refused with SQLITE_BUSY, the statement changed nothing: it may run again.
                if not _may_wait(exc) or loop.time() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def _begin(self) -> Connection:
        conn = self.engine.connect()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[InlineConnection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` if the block raises)."""
        with await self._patiently(self._begin) as conn:
            try:
                yield InlineConnection(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    async def first(self, statement: Any, parameters: Any = None) -> Row[Any] | None:
        """The first row of a short autocommit read (a lookup by key), or None."""

        def attempt() -> Row[Any] | None:
            with self.engine.connect() as conn:
                return conn.execute(statement, parameters).first()

        return await self._patiently(attempt)

    def dispose(self) -> None:
        self.engine.dispose()
