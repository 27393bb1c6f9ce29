"""Consistent multi-statement reads: every statement of the block sees one snapshot.

The store's ``read()`` is autocommit (one statement, one snapshot), which is right for
single-row reads. A checkpoint tuple or a task export reads several tables and must not
mix states: a concurrent ``delete-thread`` or clean between two statements would return a
checkpoint without its blobs, or messages without their states.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep.store import dberrors
from agentkeep.store.sql import SqlBase


@contextlib.asynccontextmanager
async def snapshot(base: SqlBase) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction with one snapshot; never blocks a writer.

    Postgres: REPEATABLE READ (a read-only transaction there never fails to serialize).
    SQLite: a deferred ``BEGIN`` on a reader connection; in WAL mode the first read fixes
    the snapshot and writers carry on.
    """
    with dberrors.translated():
        if base.dialect == "postgresql":
            async with base.engine.connect() as raw:
                conn = await raw.execution_options(isolation_level="REPEATABLE READ")
                async with conn.begin():
                    yield conn
            return
        async with base.read() as conn:
            await conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                await conn.exec_driver_sql("ROLLBACK")
