"""A fake clock and schedulers driven by it, on a real database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from agentkeep.rpc.context import Services
from agentkeep.schedules import edits
from agentkeep.schedules.loop import Scheduler
from agentkeep.schedules.metrics import SchedulerMetrics
from agentkeep.store import SqlStore
from agentkeep.store.agents import Registration

T0 = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
INPUT = {"type": "text", "author": "user", "content": "hello"}


@dataclass
class FakeClock:
    now: datetime = T0

    async def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def scheduler(services: Services, clock: FakeClock, store: SqlStore | None = None) -> Scheduler:
    """A scheduler on the fake clock; ``store`` stands in for another process's pool."""
    if store is not None:
        services = Services(
            store, services.lifecycle, services.bus, services.agent_client, services.settings
        )
    return Scheduler(services, SchedulerMetrics.register(CollectorRegistry()), clock=clock)


async def make_agent(store: SqlStore, acp_type: str = "sync") -> dict[str, Any]:
    reg = Registration(
        name=f"agent-{uuid.uuid4().hex[:8]}",
        description="clock test agent",
        acp_url="http://127.0.0.1:9",
        acp_type=acp_type,
    )
    row, _key = await store.register_agent(reg)
    return row


async def make_schedule(
    store: SqlStore, agent_id: str, now: datetime, **body: Any
) -> dict[str, Any]:
    create = edits.ScheduleCreate.model_validate(
        {"name": f"s-{uuid.uuid4().hex[:8]}", "initial_input": INPUT, **body}
    )
    creator = {"principal_type": None, "user_id": None, "service_account_id": None}
    return await store.create_schedule(
        edits.new_schedule(create, agent_id, {**creator, "account_id": None}, now)
    )
