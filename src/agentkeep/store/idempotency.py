"""Idempotency records: the first response to a key, kept in the database so that a retry
reaching any server process replays it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select

from agentkeep.domain import models
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import idempotency_keys

IN_FLIGHT = "in_flight"
DONE = "done"


class IdempotencyMixin(SqlBase):
    async def claim_idempotency_key(
        self, scope_hash: str, request_hash: str, *, ttl_seconds: int, stale_seconds: float
    ) -> dict[str, Any] | None:
        """Claim the key for this request; None if claimed, else the existing record.

        An expired record, or an in-flight one older than ``stale_seconds`` (its process
        died), is taken over.
        """
        now = models.utcnow()
        expired = idempotency_keys.c.created_at < now - timedelta(seconds=ttl_seconds)
        stale = (idempotency_keys.c.state == IN_FLIGHT) & (
            idempotency_keys.c.updated_at < now - timedelta(seconds=stale_seconds)
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
            return dict(r.one()._mapping)

    async def get_idempotency_record(self, scope_hash: str) -> dict[str, Any] | None:
        async with self.read() as conn:
            r = (
                await conn.execute(
                    select(idempotency_keys).where(idempotency_keys.c.scope_hash == scope_hash)
                )
            ).first()
        return dict(r._mapping) if r else None

    async def finish_idempotency_key(self, scope_hash: str, status_code: int, body: str) -> None:
        async with self.write() as conn:
            await conn.execute(
                idempotency_keys.update()
                .where(idempotency_keys.c.scope_hash == scope_hash)
                .values(state=DONE, status_code=status_code, body=body, updated_at=models.utcnow())
            )

    async def release_idempotency_key(self, scope_hash: str) -> None:
        """Forget a claim whose request failed before it produced a replayable answer."""
        async with self.write() as conn:
            await conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.scope_hash == scope_hash,
                    idempotency_keys.c.state == IN_FLIGHT,
                )
            )
