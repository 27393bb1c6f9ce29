"""Offset pagination parameters shared by the list routes (api.md, Conventions)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated

from fastapi import Query

from agentkeep import errors

#: 0 also means the default of 50; above 1000 is 422 ([fix]: Agentex has no maximum).
Limit = Annotated[int, Query(ge=0, le=1000)]
#: Bounded so that the offset, page times limit, always fits a 64-bit integer: an unbounded
#: number overflows the database driver (a 500) instead of being bad input (a 422).
MAX_PAGE_NUMBER = 2**31 - 1
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER)]
DEFAULT_LIMIT = 50


def limit_or_default(limit: int) -> int:
    return limit or DEFAULT_LIMIT


def descending(order_direction: str) -> bool:
    """``desc`` (any case) is descending; anything else ascending, as Agentex reads it."""
    return order_direction.lower() == "desc"


def order_field(order_by: str | None, allowed: Collection[str], default: str, what: str) -> str:
    """The column to order by; a name that is not a sortable wire field is 400 ([fix])."""
    if order_by is None:
        return default
    if order_by not in allowed:
        raise errors.BadRequest(
            f"Cannot order {what} by {order_by!r}; use one of {', '.join(sorted(allowed))}."
        )
    return order_by
