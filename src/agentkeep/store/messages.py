"""Task messages: create, replace, batch writes, offset and keyset (cursor) listing.

Content filters run in SQL on both databases (JSONB ``@>`` on Postgres, the registered
containment function on SQLite), so ``LIMIT``/``OFFSET`` and cursors count exactly the
rows a client asked for; filtering after the query would return short or skipped pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, false, func, literal, not_, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB

from agentkeep import errors
from agentkeep.domain import models
from agentkeep.domain.paging import Page
from agentkeep.store import jsonmatch
from agentkeep.store.rows import MessageRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import messages

MESSAGE_ORDER_FIELDS = frozenset({"created_at", "updated_at", "id"})


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """One entry of ``filters``: partial content, optional status, include or exclude."""

    content: dict[str, Any] | None = None
    streaming_status: str | None = None
    exclude: bool = False


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """Which messages a list returns: one task's, matching ``filters`` (Agentex's rules)."""

    task_id: str
    filters: Sequence[MessageFilter] = ()


@dataclass(frozen=True, slots=True)
class MessageCursor:
    """The keyset position of the last message a page returned."""

    created_at: datetime
    id: str


class MessagesMixin(SqlBase):
    async def create_message(
        self,
        task_id: str,
        content: dict[str, Any],
        streaming_status: str | None,
        created_at: datetime | None = None,
    ) -> MessageRow:
        """Insert one message; the caller has checked that the task exists."""
        now = models.utcnow()
        row: MessageRow = {
            "id": models.new_id(),
            "task_id": task_id,
            "content": content,
            "streaming_status": streaming_status,
            "created_at": models.as_utc(created_at) if created_at else now,
            "updated_at": now,
        }
        async with self.write() as conn:
            await conn.execute(messages.insert().values(row))
        return row

    async def create_messages(
        self,
        task_id: str,
        contents: Sequence[dict[str, Any]],
        created_at: datetime | None = None,
    ) -> list[MessageRow]:
        """Insert a batch in one statement; message i is stamped base + i ms (a stable order)."""
        now = models.utcnow()
        base = models.as_utc(created_at) if created_at else now
        rows: list[MessageRow] = [
            {
                "id": models.new_id(),
                "task_id": task_id,
                "content": content,
                "streaming_status": None,
                "created_at": base + timedelta(milliseconds=i),
                "updated_at": now,
            }
            for i, content in enumerate(contents)
        ]
        if rows:
            async with self.write() as conn:
                await conn.execute(messages.insert(), rows)
        return rows

    async def update_message(
        self,
        message_id: str,
        task_id: str,
        content: dict[str, Any],
        streaming_status: str | None,
    ) -> MessageRow | None:
        """Replace content and status; None when unknown or owned by another task."""
        stmt = (
            messages.update()
            .where(messages.c.id == message_id, messages.c.task_id == task_id)
            .values(content=content, streaming_status=streaming_status, updated_at=models.utcnow())
            .returning(messages)
        )
        async with self.write() as conn:
            r = (await conn.execute(stmt)).first()
        return row_as(MessageRow, r) if r else None

    async def update_messages(
        self, task_id: str, updates: Mapping[str, dict[str, Any]]
    ) -> list[MessageRow]:
        """Replace the content of several messages of one task, all or nothing.

        The first id that is unknown (or belongs to another task) raises ``NotFound`` inside
        the transaction, which rolls every earlier update back.
        """
        now = models.utcnow()
        out: list[MessageRow] = []
        async with self.write() as conn:
            for message_id, content in updates.items():
                r = (
                    await conn.execute(
                        messages.update()
                        .where(messages.c.id == message_id, messages.c.task_id == task_id)
                        .values(content=content, updated_at=now)
                        .returning(messages)
                    )
                ).first()
                if r is None:
                    raise errors.NotFound.by_id(message_id)
                out.append(row_as(MessageRow, r))
        return out

    async def get_message(self, message_id: str) -> MessageRow | None:
        async with self.read() as conn:
            r = (await conn.execute(select(messages).where(messages.c.id == message_id))).first()
        return row_as(MessageRow, r) if r else None

    async def list_messages(self, q: MessageQuery, page: Page) -> list[MessageRow]:
        col = messages.c[page.order_by or "created_at"]
        direction: Callable[[Any], Any] = (
            (lambda c: c.desc()) if page.descending else (lambda c: c.asc())
        )
        stmt = (
            select(messages)
            .where(messages.c.task_id == q.task_id, self._message_filters(q.filters))
            .order_by(direction(col), direction(messages.c.id))
            .limit(page.limit)
            .offset(page.offset)
        )
        async with self.read() as conn:
            return [row_as(MessageRow, r) for r in await conn.execute(stmt)]

    async def list_messages_after(
        self,
        task_id: str,
        *,
        cursor: MessageCursor | None,
        older: bool,
        limit: int,
        filters: Sequence[MessageFilter] = (),
    ) -> tuple[list[MessageRow], bool]:
        """A keyset page on (created_at, id): older pages newest first, newer oldest first.

        Returns the page and whether more rows follow. Keyset paging stays correct while new
        messages arrive, which offsets do not.
        """
        created, mid = messages.c.created_at, messages.c.id
        stmt = select(messages).where(messages.c.task_id == task_id, self._message_filters(filters))
        if cursor is not None:
            if older:
                after = or_(
                    created < cursor.created_at, and_(created == cursor.created_at, mid < cursor.id)
                )
            else:
                after = or_(
                    created > cursor.created_at, and_(created == cursor.created_at, mid > cursor.id)
                )
            stmt = stmt.where(after)
        order = [created.desc(), mid.desc()] if older else [created.asc(), mid.asc()]
        # One extra row tells whether another page exists without a COUNT.
        stmt = stmt.order_by(*order).limit(limit + 1)
        async with self.read() as conn:
            rows = [row_as(MessageRow, r) for r in await conn.execute(stmt)]
        return rows[:limit], len(rows) > limit

    def _message_filters(self, filters: Sequence[MessageFilter]) -> Any:
        """(include₁ OR include₂ …) AND NOT (exclude₁ OR exclude₂ …), as Agentex combines them."""
        includes = [self._one_filter(f) for f in filters if not f.exclude]
        excludes = [self._one_filter(f) for f in filters if f.exclude]
        clause: Any = or_(false(), *includes) if includes else true()
        if excludes:
            clause = and_(clause, not_(or_(false(), *excludes)))
        return clause

    def _one_filter(self, f: MessageFilter) -> Any:
        parts: list[Any] = []
        if f.content:
            parts.append(self._content_contains(f.content))
        if f.streaming_status is not None:
            parts.append(messages.c.streaming_status == f.streaming_status)
        return and_(true(), *parts)

    def _content_contains(self, partial: dict[str, Any]) -> Any:
        if self.dialect == "postgresql":
            return messages.c.content.bool_op("@>")(literal(partial, JSONB))
        fn = getattr(func, jsonmatch.SQLITE_FUNCTION)
        return fn(messages.c.content, orjson.dumps(partial).decode()) == 1
