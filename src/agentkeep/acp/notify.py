"""Telling async agents about cancels they did not make: REST cancel and deadlines.

Runs as a lifecycle after-commit hook. The forward happens in a background task, after
the change has committed and without any transaction: the cancel is already the truth,
and the agent is told best effort (lifecycle.md, cancel versus terminate). Skipped when:

- the change was made by the agent itself (``agent:<its name>``): it knows;
- the change came from RPC ``task/cancel``, which forwarded before its compare-and-set
  (``Change.agent_told``), so each cancel reaches the agent once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from agentkeep import errors
from agentkeep.acp import wire
from agentkeep.acp.client import AgentClient
from agentkeep.domain.agents import ASYNC_ACP_TYPES, AgentStatus
from agentkeep.domain.status import TaskStatus
from agentkeep.store import SqlStore
from agentkeep.store.changes import Change
from agentkeep.store.rows import TaskRow

log = logging.getLogger(__name__)

#: Statuses whose arrival asks the agent to stop.
NOTIFY_ON = frozenset({TaskStatus.CANCELED, TaskStatus.TIMED_OUT})


class CancelNotifier:
    """After-commit hook: forward ``task/cancel`` to the task's async agents."""

    def __init__(self, store: SqlStore, client: AgentClient) -> None:
        self.store = store
        self.client = client
        self._pending: set[asyncio.Task[None]] = set()

    async def on_commit(self, row: TaskRow, change: Change) -> None:
        if row["status"] not in NOTIFY_ON or change.agent_told:
            return
        # A strong reference until done: the loop keeps only weak ones to tasks.
        job = asyncio.create_task(self._notify(row.copy(), change.actor))
        self._pending.add(job)
        job.add_done_callback(self._pending.discard)

    async def _notify(self, task: TaskRow, actor: str) -> None:
        linked = await self.store.agents_of_tasks([task["id"]])
        for agent in linked[task["id"]]:
            if (
                agent["acp_type"] not in ASYNC_ACP_TYPES
                or not agent["acp_url"]
                or agent["status"] == AgentStatus.DELETED
                or actor == f"agent:{agent['name']}"
            ):
                continue
            try:
                await self.client.call(
                    await wire.target(self.store, agent),
                    "task/cancel",
                    wire.task_only(agent, task),
                    task_id=task["id"],
                    request_id=f"cancel-notice-{uuid.uuid4()}",
                )
            except errors.UpstreamError as exc:
                log.warning("task/cancel for task %s not delivered: %s", task["id"], exc.message)

    async def wait(self) -> None:
        """Wait for the notices under way (tests, and a clean shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def close(self, grace_seconds: float = 5.0) -> None:
        """Let notices under way finish (bounded), then cancel the rest.

        Cancelling first would abandon database reads mid-flight: aiosqlite's worker
        thread would then report to an event loop that is already closed.
        """
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=grace_seconds)
        for job in list(self._pending):
            job.cancel()
        await asyncio.gather(*list(self._pending), return_exceptions=True)
