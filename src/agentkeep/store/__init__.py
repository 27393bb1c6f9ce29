"""Storage: the ``Store`` protocol and ``SqlStore``, its one implementation."""

from __future__ import annotations

from agentkeep.store.access import AccessMixin
from agentkeep.store.agent_api_keys import AgentApiKeysMixin
from agentkeep.store.agents import AgentsMixin
from agentkeep.store.changes import ChangesMixin
from agentkeep.store.checkpoints import CheckpointsMixin
from agentkeep.store.deployments import DeploymentsMixin
from agentkeep.store.events import EventsMixin
from agentkeep.store.fires import FiresMixin
from agentkeep.store.idempotency import IdempotencyMixin
from agentkeep.store.messages import MessagesMixin
from agentkeep.store.outbox import OutboxMixin
from agentkeep.store.retention import RetentionMixin
from agentkeep.store.schedules import SchedulesMixin
from agentkeep.store.spans import SpansMixin
from agentkeep.store.states import StatesMixin
from agentkeep.store.system_jobs import SystemJobsMixin
from agentkeep.store.tasks import TasksMixin
from agentkeep.store.trackers import TrackersMixin


class SqlStore(
    OutboxMixin,
    AgentsMixin,
    TasksMixin,
    ChangesMixin,
    IdempotencyMixin,
    AccessMixin,
    MessagesMixin,
    StatesMixin,
    EventsMixin,
    TrackersMixin,
    SpansMixin,
    SchedulesMixin,
    FiresMixin,
    CheckpointsMixin,
    RetentionMixin,
    SystemJobsMixin,
    DeploymentsMixin,
    AgentApiKeysMixin,
):
    """The SQL store for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""


__all__ = ["SqlStore"]
