"""``PageDep``: the paging query parameters of every list route, checked once.

``limit`` (0 means the default of 50, at most 1000), ``page_number`` (1 to 2**31 - 1),
``order_by`` (a sortable wire field of the resource, else 400) and ``order_direction``
(``desc`` in any case is descending, anything else ascending, as Agentex reads it).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any

from fastapi import Depends, Query

from agentkeep import errors
from agentkeep.domain.paging import DEFAULT_LIMIT as DEFAULT_LIMIT
from agentkeep.domain.paging import MAX_LIMIT, MAX_PAGE_NUMBER, Page

Limit = Annotated[int, Query(ge=0, le=MAX_LIMIT)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER)]


def limit_or_default(limit: int) -> int:
    return limit or DEFAULT_LIMIT


def order_field(order_by: str | None, allowed: Collection[str], what: str) -> str | None:
    """The field to order by; a name that is not a sortable wire field is 400 ([fix])."""
    if order_by is not None and order_by not in allowed:
        raise errors.BadRequest(
            f"Cannot order {what} by {order_by!r}; use one of {', '.join(sorted(allowed))}."
        )
    return order_by


def PageDep(what: str, fields: Collection[str], *, direction: str = "desc") -> Any:
    """The dependency for one resource's list route: ``page: Annotated[Page, PageDep(…)]``.

    ``fields`` are the resource's sortable fields; ``direction`` its default order.
    """

    async def page(
        limit: Limit = DEFAULT_LIMIT,
        page_number: PageNumber = 1,
        order_by: str | None = None,
        order_direction: Annotated[str, Query()] = direction,
    ) -> Page:
        return Page(
            limit=limit_or_default(limit),
            page_number=page_number,
            order_by=order_field(order_by, fields, what),
            descending=order_direction.lower() == "desc",
        )

    return Depends(page)
