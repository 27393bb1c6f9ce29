"""Agent keys at rest: a SHA-256 to authenticate with and a nonce to derive the key from.

See ``agentkeep.keys`` for why keys are derived rather than stored. Every read here goes to
the database, never to a cache: a deleted agent's key or a rotated key stops working on
the very next request, in every process.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from agentkeep import keys
from agentkeep.domain import models
from agentkeep.domain.agents import AgentStatus
from agentkeep.store import fastread
from agentkeep.store.rows import AgentKeyRow, AgentRow, row_as
from agentkeep.store.sql import SqlBase
from agentkeep.store.tables import agent_keys, agents

log = logging.getLogger(__name__)


class AgentKeysMixin(SqlBase):
    async def ensure_key(self, conn: AsyncConnection, agent_id: str, now: Any) -> str:
        """The agent's key, minted at its first registration (inside its transaction).

        Concurrent first registrations: one INSERT wins and the others derive the winner's
        key from its nonce. A key that cannot be derived (hashed from clear text by the
        migration, or minted under another ``AGENTKEEP_AGENT_KEY_SECRET``) is replaced: the
        registration response is how the agent learns its key.
        """
        nonce = keys.new_nonce()
        key = keys.derive(self.agent_key_secret, agent_id, nonce)
        await conn.execute(
            self.insert(agent_keys)
            .values(agent_id=agent_id, key_hash=keys.hash_key(key), nonce=nonce, created_at=now)
            .on_conflict_do_nothing(index_elements=["agent_id"])
        )
        stored = await self._stored_key(conn, agent_id)
        assert stored is not None
        if stored["nonce"] == nonce:
            return key
        current = self._rederive(agent_id, stored)
        return current if current is not None else await self._replace_key(conn, agent_id, now)

    async def _stored_key(self, conn: AsyncConnection, agent_id: str) -> AgentKeyRow | None:
        r = await conn.execute(
            select(agent_keys.c.key_hash, agent_keys.c.nonce).where(
                agent_keys.c.agent_id == agent_id
            )
        )
        row = r.first()
        return row_as(AgentKeyRow, row) if row else None

    def _rederive(self, agent_id: str, stored: AgentKeyRow) -> str | None:
        if stored["nonce"] is None:
            return None
        key = keys.derive(self.agent_key_secret, agent_id, stored["nonce"])
        if keys.same_hash(stored["key_hash"], key):
            return key
        log.warning(
            "agent %s's key was minted with a different AGENTKEEP_AGENT_KEY_SECRET: "
            "every server process needs the same secret",
            agent_id,
        )
        return None

    async def _replace_key(self, conn: AsyncConnection, agent_id: str, now: Any) -> str:
        nonce = keys.new_nonce()
        key = keys.derive(self.agent_key_secret, agent_id, nonce)
        await conn.execute(agent_keys.delete().where(agent_keys.c.agent_id == agent_id))
        await conn.execute(
            agent_keys.insert().values(
                agent_id=agent_id, key_hash=keys.hash_key(key), nonce=nonce, created_at=now
            )
        )
        return key

    async def rotate_key(self, agent_id: str) -> str:
        """A new key for the agent; the old one fails from the next request on."""
        async with self.write() as conn:
            return await self._replace_key(conn, agent_id, models.utcnow())

    async def agent_key(self, agent_id: str) -> str | None:
        """The key to present to the agent when forwarding, or None if it has none."""
        async with self.read() as conn:
            stored = await self._stored_key(conn, agent_id)
        return self._rederive(agent_id, stored) if stored is not None else None

    async def agent_by_key(self, api_key: str) -> AgentRow | None:
        """The live agent ``api_key`` belongs to; found by the key's hash, never the key."""
        digest = keys.hash_key(api_key)
        if self.fast_reader is not None:
            return await self.fast_reader.one(AgentRow, fastread.AGENT_BY_KEY, digest)
        stmt = (
            select(agents)
            .join(agent_keys, agent_keys.c.agent_id == agents.c.id)
            .where(agent_keys.c.key_hash == digest, agents.c.status != AgentStatus.DELETED.value)
        )
        return await self.lookup(AgentRow, stmt)

    async def drop_keys(self, conn: AsyncConnection, agent_id: str) -> None:
        """Revoke the agent's key inside the caller's transaction (agent deletion)."""
        await conn.execute(agent_keys.delete().where(agent_keys.c.agent_id == agent_id))
