"""Driver errors translated at the store boundary: callers see ours, never the driver's."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from agentkeep import errors

log = logging.getLogger(__name__)

#: SQLSTATE classes that mean "the database cannot serve now", not "this request is bad":
#: connection exception, insufficient resources, operator intervention (shutdown, a
#: cancelled statement: ``statement_timeout``).
_UNAVAILABLE_CLASSES = ("08", "53", "57")
_UNAVAILABLE_TYPES = (
    OSError,
    TimeoutError,
    PoolTimeout,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
)


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Unique violations become 400 ``Item already exists``; bad values become 400; an
    unreachable, stalled or restarting database becomes 503 (retry), never 500."""
    try:
        yield
    except IntegrityError as exc:
        raise errors.ItemAlreadyExists() from exc
    except DBAPIError as exc:
        raise_if_bad_value(getattr(exc.orig, "sqlstate", None), exc)
        raise_if_unavailable(exc)
        raise
    except (*_UNAVAILABLE_TYPES, sqlite3.OperationalError) as exc:
        raise_if_unavailable(exc)
        raise


def is_unavailable(exc: BaseException) -> bool:
    """Does ``exc`` say the database cannot serve now (unreachable, stalled, restarting)?"""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_CLASSES):
            return True
        if isinstance(current, _UNAVAILABLE_TYPES):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        # SQLite: the busy timeout ran out, or the file cannot be opened.
        if isinstance(current, sqlite3.OperationalError) and (
            "locked" in str(current) or "unable to open" in str(current)
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def raise_if_unavailable(exc: BaseException) -> None:
    """Raise ``DatabaseUnavailable`` if ``exc`` says the database cannot serve now."""
    if is_unavailable(exc):
        log.debug("database unavailable: %s", type(exc).__name__)
        raise errors.DatabaseUnavailable() from exc


def raise_if_bad_value(sqlstate: object, cause: BaseException) -> None:
    """A value the database cannot hold (SQLSTATE class 22, "data exception") is bad input.

    PostgreSQL refuses a NUL character in text and JSONB, or a string longer than its
    column, where SQLite stores it: without this the same request is a 400 on one database
    and a 500 on the other. Every other driver error stays what it is.
    """
    if isinstance(sqlstate, str) and sqlstate.startswith("22"):
        raise errors.BadRequest(
            "A value cannot be stored: strings must not contain NUL (\\u0000) characters "
            "and must fit their field."
        ) from cause
