"""Agent API keys: ``internal``/``external`` credentials and ``github``/``slack`` secrets.

Every check reads the table: there is no cache, so a deleted key fails on the very next
request in every process. Credential values are kept as SHA-256 (looked up by hash, then
compared in constant time); webhook secrets are kept as given, because verifying a
signature needs the secret itself (``platform_tables.agent_api_keys``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import cast

from sqlalchemy import select

from agentkeep.domain import models
from agentkeep.domain.agents import AgentStatus
from agentkeep.store.platform_tables import CREDENTIAL_TYPES, agent_api_keys
from agentkeep.store.rows import AgentApiKeyRow, AgentRow, row_as
from agentkeep.store.sql import SqlBase, row_dict
from agentkeep.store.tables import agents

_PUBLIC = [c for c in agent_api_keys.c if c.name not in ("key_hash", "secret")]


def key_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_key_value() -> str:
    """64 hex characters, as Agentex generates them."""
    return secrets.token_hex(32)


class AgentApiKeysMixin(SqlBase):
    async def create_agent_api_key(
        self, agent_id: str, name: str, api_key_type: str, value: str
    ) -> AgentApiKeyRow | None:
        """The new key's row, or None when ``(agent, name, type)`` is taken.

        A credential value already used by any key is 400 ``Item already exists`` (the
        unique hash), like every other unique key.
        """
        credential = api_key_type in CREDENTIAL_TYPES
        async with self.write() as conn:
            r = await conn.execute(
                self.insert(agent_api_keys)
                .values(
                    id=models.new_id(),
                    agent_id=agent_id,
                    name=name,
                    api_key_type=api_key_type,
                    key_hash=key_hash(value) if credential else None,
                    secret=None if credential else value,
                    created_at=models.utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["agent_id", "name", "api_key_type"])
                .returning(*_PUBLIC)
            )
            row = r.first()
        return row_as(AgentApiKeyRow, row) if row else None

    async def list_agent_api_keys(
        self, agent_id: str, *, limit: int, page_number: int
    ) -> list[AgentApiKeyRow]:
        stmt = (
            select(*_PUBLIC)
            .where(agent_api_keys.c.agent_id == agent_id)
            .order_by(agent_api_keys.c.created_at, agent_api_keys.c.id)
            .limit(limit)
            .offset((page_number - 1) * limit)
        )
        async with self.read() as conn:
            return [row_as(AgentApiKeyRow, r) for r in await conn.execute(stmt)]

    async def get_agent_api_key(self, key_id: str) -> AgentApiKeyRow | None:
        async with self.read() as conn:
            r = (await conn.execute(select(*_PUBLIC).where(agent_api_keys.c.id == key_id))).first()
        return row_as(AgentApiKeyRow, r) if r else None

    async def get_agent_api_key_by_name(
        self, agent_id: str, name: str, api_key_type: str
    ) -> AgentApiKeyRow | None:
        stmt = select(*_PUBLIC).where(
            agent_api_keys.c.agent_id == agent_id,
            agent_api_keys.c.name == name,
            agent_api_keys.c.api_key_type == api_key_type,
        )
        async with self.read() as conn:
            r = (await conn.execute(stmt)).first()
        return row_as(AgentApiKeyRow, r) if r else None

    async def delete_agent_api_key(self, key_id: str) -> bool:
        async with self.write() as conn:
            r = await conn.execute(
                agent_api_keys.delete()
                .where(agent_api_keys.c.id == key_id)
                .returning(agent_api_keys.c.id)
            )
            return r.first() is not None

    async def agent_by_api_key(
        self, value: str, types: frozenset[str] = CREDENTIAL_TYPES
    ) -> tuple[AgentRow, str] | None:
        """The agent an ``internal``/``external`` key belongs to, and the key's type.

        Found by the value's SHA-256, then compared in constant time: the lookup reveals
        nothing usable about a stored value, and the comparison nothing about its prefix.
        """
        digest = key_hash(value)
        stmt = (
            select(agents, agent_api_keys.c.key_hash, agent_api_keys.c.api_key_type)
            .join(agent_api_keys, agent_api_keys.c.agent_id == agents.c.id)
            .where(
                agent_api_keys.c.key_hash == digest, agents.c.status != AgentStatus.DELETED.value
            )
        )
        async with self.read() as conn:
            r = (await conn.execute(stmt)).first()
        if r is None:
            return None
        row = row_dict(r)
        stored, key_type = row.pop("key_hash"), row.pop("api_key_type")
        if not hmac.compare_digest(stored, digest) or key_type not in types:
            return None
        # What is left once the key's columns are popped: the agent's own.
        return cast(AgentRow, row), key_type

    async def webhook_secret(self, agent_id: str, api_key_type: str, name: str) -> str | None:
        """The ``github``/``slack`` secret named ``name`` for this agent."""
        stmt = select(agent_api_keys.c.secret).where(
            agent_api_keys.c.agent_id == agent_id,
            agent_api_keys.c.api_key_type == api_key_type,
            agent_api_keys.c.name == name,
        )
        async with self.read() as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()
