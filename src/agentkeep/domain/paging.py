"""``Page``: one page of a list, with the bounds every list route shares (api.md, Conventions).

Defined once, here: the routes read it from the query string through ``api.paging.PageDep``
and the store's list methods take ``(filters, page)``.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LIMIT = 50
#: [fix] Agentex has no maximum; above it is 422.
MAX_LIMIT = 1000
#: Bounded so that the offset, page times limit, always fits a 64-bit integer: an unbounded
#: number overflowed the database driver (a 500) instead of being bad input (a 422).
MAX_PAGE_NUMBER = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Page:
    limit: int = DEFAULT_LIMIT
    page_number: int = 1
    #: A sortable wire field, or None for the resource's default order.
    order_by: str | None = None
    descending: bool = True

    @property
    def offset(self) -> int:
        return (self.page_number - 1) * self.limit
