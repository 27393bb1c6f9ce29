"""Storage: the ``Store`` protocol and ``SqlStore``, its one implementation."""

from __future__ import annotations

from agentkeep.store.agents import AgentsMixin
from agentkeep.store.idempotency import IdempotencyMixin
from agentkeep.store.outbox import OutboxMixin
from agentkeep.store.tasks import TasksMixin


class SqlStore(OutboxMixin, AgentsMixin, TasksMixin, IdempotencyMixin):
    """The SQL store for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""


__all__ = ["SqlStore"]
