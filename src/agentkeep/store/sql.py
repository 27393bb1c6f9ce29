"""``SqlStore``: the one Store implementation, for SQLite and PostgreSQL alike.

The class is assembled from one mixin per concern (agents, tasks, idempotency, …) that all
share the transaction helpers defined here. Driver errors are translated at this boundary:
callers never see ``IntegrityError``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agentkeep.store import dberrors, fastread
from agentkeep.store import engine as engine_mod
from agentkeep.store.rows import R, row_as


def row_dict(r: Any) -> dict[str, Any]:
    """A result row as a plain dict (what every store method returns)."""
    return dict(r._mapping)


class SqlBase:
    """Connections, transactions and dialect helpers shared by the store mixins."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        agent_key_secret: bytes = b"",
        timeouts: engine_mod.Timeouts | None = None,
    ) -> None:
        self.url = url
        #: What agent keys are derived from (``agentkeep.keys``); every process needs the same.
        self.agent_key_secret = agent_key_secret
        timeouts = timeouts or engine_mod.Timeouts()
        engines = engine_mod.make_engines(url, pool_size=pool_size, timeouts=timeouts)
        self._write_engine, self._read_engine = engines.write, engines.read
        self._inline = engines.inline
        self.dialect = self._write_engine.dialect.name
        # Hot-path statements, built once: constructing Core statements (CTEs especially)
        # costs more CPU than executing them.
        self._statements: dict[Hashable, Any] = {}
        # SQLite has one writer at a time: queueing writers here is cheaper and fairer than
        # letting them spin on the database lock.
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if self.dialect == "sqlite" else None
        self.fast_reader = (
            fastread.FastReader(url, max_size=max(2, pool_size // 2), timeouts=timeouts)
            if self.dialect == "postgresql"
            else None
        )

    def statement(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The statement cached under ``key``, built by ``build`` on first use."""
        stmt = self._statements.get(key)
        if stmt is None:
            stmt = self._statements[key] = build()
        return stmt

    def compiled(self, key: Hashable, build: Callable[[], Any]) -> fastread.Compiled:
        """The statement cached under ``key``, compiled once for ``fast_reader``."""
        compiled: fastread.Compiled = self.statement(
            ("asyncpg", key),
            lambda: fastread.Compiled.of(self.statement(key, build), self._write_engine.dialect),
        )
        return compiled

    @property
    def engine(self) -> AsyncEngine:
        return self._write_engine

    async def close(self) -> None:
        if self.fast_reader is not None:
            await self.fast_reader.close()
        await self._write_engine.dispose()
        if self._read_engine is not self._write_engine:
            await self._read_engine.dispose()
        if self._inline is not None:
            self._inline.dispose()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A short write transaction (IMMEDIATE on SQLite); unique violations become 400."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock:
            with dberrors.translated():
                if self._inline is not None:
                    async with self._inline.transaction() as inline:
                        # It answers ``execute``, all that store code calls on a connection.
                        yield cast(AsyncConnection, inline)
                    return
                async with self._write_engine.begin() as conn:
                    yield conn

    @contextlib.asynccontextmanager
    async def single(self) -> AsyncIterator[AsyncConnection]:
        """An autocommit connection for one self-contained write statement (Postgres).

        A single statement is atomic on its own: no BEGIN/COMMIT round trips.
        """
        with dberrors.translated():
            async with self._read_engine.connect() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """An autocommit connection: each statement sees committed data, no BEGIN needed."""
        with dberrors.translated():
            async with self._read_engine.connect() as conn:
                yield conn

    async def lookup(self, kind: type[R], statement: Any, parameters: Any = None) -> R | None:
        """The one row a read by key finds (inline on SQLite, so never a scan: the event
        loop waits while it runs), or None."""
        with dberrors.translated():
            if self._inline is not None:
                r = await self._inline.first(statement, parameters)
            else:
                async with self._read_engine.connect() as conn:
                    r = (await conn.execute(statement, parameters)).first()
        return row_as(kind, r) if r else None

    def insert(self, table: Table) -> Any:
        """A dialect ``INSERT`` that supports ``on_conflict_do_nothing``."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def ping(self) -> None:
        # Inline on SQLite: a busy loop delays aiosqlite's threads by seconds, which the
        # watchdog and readiness would report as a database outage.
        await self.lookup(dict, text("SELECT 1"))
