"""Idempotency records: the first response to a key, kept in the database so that a retry
reaching any server process replays it.

A request claims its key (``in_flight``, with an ``owner`` token and a lease it renews while
it runs), and its answer is stored **in the transaction of the change it makes**
(``store_answer``, called by the change writers in ``store.changes``): after a crash at any
point, either the change and its answer are both there and a retry replays the answer, or
neither is and the retry may run the request again once the lease has run out. The answer
is only written while the claim is still the request's own, so a request that outlived its
lease (a retry took over) rolls its change back instead of applying it twice.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep.domain import models
from agentkeep.store.rows import IdempotencyRow, TaskRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import idempotency_keys

IN_FLIGHT = "in_flight"
DONE = "done"


class ClaimLost(Exception):
    """The claim's lease ran out and a retry took the key over: this change must not
    commit (the retry's does)."""


@dataclass
class Claim:
    """The key the current request holds, and how its answer is rendered from the row."""

    scope_hash: str
    owner: str
    render: Callable[[TaskRow], tuple[int, str]]
    stored: bool = False


#: The claim of the request being handled: set by ``api.idempotency`` around the handler,
#: read by the change writers, which store the answer in their own transaction.
PENDING: contextvars.ContextVar[Claim | None] = contextvars.ContextVar(
    "agentkeep_idempotency_claim", default=None
)


def pending_claim() -> Claim | None:
    claim = PENDING.get()
    return None if claim is None or claim.stored else claim


async def store_answer(conn: AsyncConnection, row: TaskRow) -> None:
    """Inside a change's transaction: record the pending claim's answer for ``row``."""
    claim = pending_claim()
    if claim is None:
        return
    status_code, body = claim.render(row)
    done = await conn.execute(
        idempotency_keys.update()
        .where(
            idempotency_keys.c.scope_hash == claim.scope_hash,
            idempotency_keys.c.owner == claim.owner,
            idempotency_keys.c.state == IN_FLIGHT,
        )
        .values(state=DONE, status_code=status_code, body=body, updated_at=models.utcnow())
    )
    if done.rowcount != 1:
        raise ClaimLost
    claim.stored = True


class IdempotencyMixin(SqlBase):
    async def claim_idempotency_key(
        self,
        scope_hash: str,
        request_hash: str,
        *,
        owner: str,
        ttl_seconds: int,
        lease_seconds: float,
    ) -> IdempotencyRow | None:
        """Claim the key for this request; None if claimed, else the existing record.

        An expired record, or an in-flight one whose lease was not renewed for
        ``lease_seconds`` (its process died), is taken over.
        """
        now = models.utcnow()
        expired = idempotency_keys.c.created_at < now - timedelta(seconds=ttl_seconds)
        stale = (idempotency_keys.c.state == IN_FLIGHT) & (
            idempotency_keys.c.updated_at < now - timedelta(seconds=lease_seconds)
        )
        async with self.write() as conn:
            await conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.scope_hash == scope_hash, or_(expired, stale)
                )
            )
            inserted = await conn.execute(
                self.insert(idempotency_keys)
                .values(
                    scope_hash=scope_hash,
                    request_hash=request_hash,
                    state=IN_FLIGHT,
                    owner=owner,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
                .returning(idempotency_keys.c.scope_hash)
            )
            if inserted.first() is not None:
                return None
            r = await conn.execute(
                select(idempotency_keys).where(idempotency_keys.c.scope_hash == scope_hash)
            )
            return row_as(IdempotencyRow, r.one())

    async def renew_idempotency_claim(self, scope_hash: str, owner: str) -> None:
        """Extend the lease of a claim whose request is still running."""
        async with self.write() as conn:
            await conn.execute(
                idempotency_keys.update()
                .where(
                    idempotency_keys.c.scope_hash == scope_hash,
                    idempotency_keys.c.owner == owner,
                    idempotency_keys.c.state == IN_FLIGHT,
                )
                .values(updated_at=models.utcnow())
            )

    async def get_idempotency_record(self, scope_hash: str) -> IdempotencyRow | None:
        return await self.lookup(
            IdempotencyRow,
            select(idempotency_keys).where(idempotency_keys.c.scope_hash == scope_hash),
        )

    async def finish_idempotency_key(
        self, scope_hash: str, owner: str, status_code: int, body: str
    ) -> None:
        """Store an answer that changed nothing (a refusal): no change to commit it with."""
        async with self.write() as conn:
            await conn.execute(
                idempotency_keys.update()
                .where(
                    idempotency_keys.c.scope_hash == scope_hash,
                    idempotency_keys.c.owner == owner,
                    idempotency_keys.c.state == IN_FLIGHT,
                )
                .values(state=DONE, status_code=status_code, body=body, updated_at=models.utcnow())
            )

    async def release_idempotency_key(self, scope_hash: str, owner: str) -> None:
        """Forget a claim whose request failed before it produced a replayable answer."""
        async with self.write() as conn:
            await conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.scope_hash == scope_hash,
                    idempotency_keys.c.owner == owner,
                    idempotency_keys.c.state == IN_FLIGHT,
                )
            )
