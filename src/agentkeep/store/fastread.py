"""The hottest statements on PostgreSQL, straight through asyncpg.

``GET /tasks/{id}`` is the most frequent request a task server answers (every client polls
it), and every RPC and every agent-key request starts by looking up an agent. Through
SQLAlchemy, most of the CPU of such a lookup went to executing the statement, not to the
database: a cached Core statement still pays for result processing and the greenlet
bridge. Here a small asyncpg pool runs one prepared ``SELECT`` per lookup, and rows come
back as the same dicts the SQLAlchemy path returns (timezone-aware timestamps, JSON
decoded), so callers cannot tell the two apart.

The two writes every task makes, its creation and each status change, are single
statements too (``store.changes``): they are built with SQLAlchemy, compiled once for
asyncpg (``Compiled``) and run here the same way. Everything else goes through SQLAlchemy.
Connections keep no session state (no transaction, ``SET`` or ``LISTEN`` outlives a
statement), so they go back to the pool without asyncpg's reset query, a round trip each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import orjson
from sqlalchemy.engine import Dialect, make_url

from agentkeep import errors
from agentkeep.store import dberrors
from agentkeep.store.engine import Timeouts, asyncpg_timeouts
from agentkeep.store.rows import R
from agentkeep.store.tables import agents, tasks

_TASK_COLUMNS = ", ".join(c.name for c in tasks.c)
_AGENT_COLUMNS = ", ".join(f"agents.{c.name}" for c in agents.c)
TASK_BY_ID = f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = $1"
TASK_BY_NAME = f"SELECT {_TASK_COLUMNS} FROM tasks WHERE name = $1"
AGENT_BY_ID = f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = $1"
AGENT_BY_NAME = f"SELECT {_AGENT_COLUMNS} FROM agents WHERE name = $1"
#: Every authenticated agent request starts with this one: by the key's SHA-256, and
#: never a Deleted agent's (deleting an agent revokes its key at once).
AGENT_BY_KEY = (
    f"SELECT {_AGENT_COLUMNS} FROM agents "
    "JOIN agent_keys ON agent_keys.agent_id = agents.id "
    "WHERE agent_keys.key_hash = $1 AND agents.status <> 'Deleted'"
)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A SQLAlchemy statement compiled for asyncpg: its SQL and the order of its values."""

    sql: str
    names: tuple[str, ...]
    #: Values the statement carries itself (literals), by parameter name.
    fixed: Mapping[str, Any]

    @classmethod
    def of(cls, statement: Any, dialect: Dialect) -> Compiled:
        compiled = statement.compile(dialect=dialect)
        return cls(compiled.string, tuple(compiled.positiontup or ()), compiled.params)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[n] if n in params else self.fixed[n] for n in self.names]


async def _init_connection(conn: asyncpg.Connection) -> None:
    for json_type in ("json", "jsonb"):
        await conn.set_type_codec(
            json_type,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing to undo. These connections only run single
    SELECTs outside transactions (no SET, LISTEN, cursor or advisory lock), and asyncpg's
    default reset (``RESET ALL``, ``UNLISTEN *``, …) was a second round trip per lookup.
    asyncpg still rolls back a transaction left open on a released connection."""


class FastReader:
    """A lazily opened asyncpg pool for single-row lookups."""

    def __init__(self, url: str, max_size: int, timeouts: Timeouts) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._max_size = max_size
        self._timeouts = timeouts
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        # No floor to maintain: asyncpg would log a traceback each time it
                        # fails to reopen one during a database outage.
                        min_size=0,
                        max_size=self._max_size,
                        init=_init_connection,
                        reset=_keep_session,
                        **asyncpg_timeouts(self._timeouts),
                    )
        return self._pool

    async def one(self, kind: type[R], sql: str, value: str) -> R | None:
        return await self._fetchrow(kind, sql, [value])

    async def row(self, kind: type[R], statement: Compiled, params: Mapping[str, Any]) -> R | None:
        """The row ``statement`` returns (None if none), ``params`` by parameter name."""
        return await self._fetchrow(kind, statement.sql, statement.args(params))

    async def _fetchrow(self, kind: type[R], sql: str, args: Sequence[Any]) -> R | None:
        try:
            pool = await self._get_pool()
            async with pool.acquire(timeout=self._timeouts.command) as conn:
                record = await conn.fetchrow(sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            # As ``dberrors.translated`` answers SQLAlchemy's IntegrityError.
            raise errors.ItemAlreadyExists() from exc
        except asyncpg.PostgresError as exc:
            # Same translation as the SQLAlchemy path: a NUL in an id is bad input, not 500.
            dberrors.raise_if_bad_value(getattr(exc, "sqlstate", None), exc)
            dberrors.raise_if_unavailable(exc)
            raise
        except Exception as exc:
            dberrors.raise_if_unavailable(exc)
            raise
        return cast(R, dict(record)) if record is not None else None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
