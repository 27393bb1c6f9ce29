"""Status changes: route → lifecycle → store, then the after-commit hooks.

Each change is one compare-and-set in the store (with its history and outbox rows). Only
when the write matched nothing does this module read the task, to say precisely why:
unknown, deleted, stale ``If-Match``, not allowed from the current status, or a race lost
to another writer.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from agentkeep import errors
from agentkeep.domain import live, models, status
from agentkeep.domain.status import TaskStatus
from agentkeep.store import SqlStore
from agentkeep.store.rows import TaskRow
from agentkeep.store.tasks import Change

log = logging.getLogger(__name__)

#: Called after a change commits, with the new row and the change (actor, reason, …).
AfterCommit = Callable[[TaskRow, Change], Awaitable[None]]

DEADLINE_REASON = "Task exceeded its deadline"
DEADLINE_ACTOR = "system:deadline"


class Lifecycle:
    def __init__(self, store: SqlStore, *, default_timeout_seconds: float | None = None) -> None:
        self.store = store
        self.default_timeout_seconds = default_timeout_seconds
        self._after_commit: list[AfterCommit] = []

    def on_commit(self, hook: AfterCommit) -> None:
        """Register a hook run after every committed change (relay wake-up, agent notice)."""
        self._after_commit.append(hook)

    async def _committed(self, row: TaskRow, change: Change) -> None:
        for hook in self._after_commit:
            try:
                await hook(row, change)
            except Exception:
                # A hook is best effort by contract: the change is committed and the outbox
                # guarantees its announcement, so a hook failure must not fail the request.
                log.exception("after-commit hook failed for task %s", row["id"])

    async def apply_verb(
        self,
        task_id: str,
        verb: str,
        change: Change,
        *,
        expected_version: int | None = None,
    ) -> TaskRow:
        """A REST transition (``complete``, ``cancel``, …, ``interrupt``)."""
        target, default_reason = status.VERBS[verb]
        change = dataclasses.replace(change, reason=change.reason or default_reason)
        return await self.transition(task_id, target, change, expected_version=expected_version)

    async def transition(
        self,
        task_id: str,
        target: TaskStatus,
        change: Change,
        *,
        expected_version: int | None = None,
    ) -> TaskRow:
        sources = status.sources_for(target)
        if target is TaskStatus.RUNNING:
            sources = sources - {TaskStatus.FAILED}
        row = await self.store.transition(
            task_id, target, change, sources=sources, expected_version=expected_version
        )
        if row is None:
            current = await self.current(task_id, expected_version=expected_version)
            if current["status"] not in sources:
                raise errors.InvalidTransition(
                    _not_allowed(task_id, target, current["status"]),
                    data={"task": models.task_wire(current)},
                )
            raise _lost_race(current)
        await self._committed(row, change)
        return row

    async def current(self, task_id: str, *, expected_version: int | None = None) -> TaskRow:
        """The live task as ``If-Match`` expects it: the one place that refuses a stale one.

        404 when unknown or deleted, 412 (with the current task) when its version is not
        ``expected_version``. Also what a write that matched nothing reads to say why.
        """
        row = live.task(await self.store.get_task(task_id), task_id)
        if expected_version is not None and row["version"] != expected_version:
            raise errors.PreconditionFailed(data={"task": models.task_wire(row)})
        return row

    async def resume(self, task_id: str, change: Change, *, agent_failure: bool) -> TaskRow | None:
        """INTERRUPTED (and, with ``agent_failure``, FAILED by an agent error) → RUNNING.

        Returns None when the task was in neither state: resuming is opportunistic.
        """
        sources = {TaskStatus.INTERRUPTED}
        if agent_failure:
            sources.add(TaskStatus.FAILED)
        row = await self.store.transition(
            task_id,
            TaskStatus.RUNNING,
            change,
            sources=sources,
            failed_by=status.AGENT_ERROR_ACTOR,
        )
        if row is not None:
            await self._committed(row, change)
        return row

    async def fail_from_agent(
        self, task_id: str, reason: str, request_id: str | None
    ) -> TaskRow | None:
        """An agent error fails a live task by compare-and-set; a finished task keeps its
        status (Agentex overwrote it unconditionally)."""
        change = Change(status.AGENT_ERROR_ACTOR, request_id, reason)
        row = await self.store.transition(
            task_id, TaskStatus.FAILED, change, sources=status.sources_for(TaskStatus.FAILED)
        )
        if row is not None:
            await self._committed(row, change)
        return row

    async def delete(self, task_id: str, change: Change) -> TaskRow:
        row = await self.store.transition(
            task_id, TaskStatus.DELETED, change, sources=status.sources_for(TaskStatus.DELETED)
        )
        if row is None:
            # Every live status may be deleted: only an unknown or deleted task is left.
            live.task(await self.store.get_task(task_id), task_id)
            raise live.task_deleted(task_id)
        await self._committed(row, change)
        return row

    async def update(
        self,
        task_id: str,
        *,
        task_metadata: dict[str, Any] | None,
        merge_params: dict[str, Any] | None,
        expected_version: int | None,
        actor: str,
        replace_params: dict[str, Any] | None = None,
    ) -> TaskRow:
        row = await self.store.update_task(
            task_id,
            task_metadata=task_metadata,
            merge_params=merge_params,
            expected_version=expected_version,
            replace_params=replace_params,
        )
        if row is None:
            raise _lost_race(await self.current(task_id, expected_version=expected_version))
        await self._committed(row, Change(actor, None, None))
        return row

    def deadline_for(self, timeout_seconds: float | None) -> datetime | None:
        seconds = timeout_seconds if timeout_seconds is not None else self.default_timeout_seconds
        return models.utcnow() + timedelta(seconds=seconds) if seconds else None

    async def time_out(self, task_id: str) -> TaskRow | None:
        """The sweeper's move: RUNNING/INTERRUPTED → TIMED_OUT, None if someone was first."""
        change = Change(DEADLINE_ACTOR, None, DEADLINE_REASON)
        row = await self.store.transition(
            task_id, TaskStatus.TIMED_OUT, change, sources=status.sources_for(TaskStatus.TIMED_OUT)
        )
        if row is not None:
            await self._committed(row, change)
        return row


def _lost_race(current: TaskRow) -> errors.InvalidTransition:
    """A write matched nothing, yet the task reads as it asked: another writer was first."""
    return errors.InvalidTransition(
        f"Task {current['id']} status was concurrently modified. Please retry the request.",
        data={"task": models.task_wire(current)},
    )


def _not_allowed(task_id: str, target: TaskStatus, current: str) -> str:
    if target is TaskStatus.INTERRUPTED:
        return (
            f"Task {task_id} is not running (current status: {current}). "
            "Only running tasks can be interrupted."
        )
    return (
        f"Task {task_id} cannot be transitioned (current status: {current}). "
        "Only running or interrupted tasks can have their status updated."
    )
