"""Driver errors translated at the store boundary: callers see ours, never the driver's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError, IntegrityError

from agentkeep import errors


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Unique violations become 400 ``Item already exists``; bad values become 400."""
    try:
        yield
    except IntegrityError as exc:
        raise errors.ItemAlreadyExists() from exc
    except DBAPIError as exc:
        raise_if_bad_value(getattr(exc.orig, "sqlstate", None), exc)
        raise


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
