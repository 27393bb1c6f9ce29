"""The ordering gate: a change of a task never overtakes an earlier one of that task."""

from __future__ import annotations

import asyncio
from operator import attrgetter

from agentkeep.relay.base import FIRST_CHANGE_VERSION, TRACKED_TASKS, Queued
from agentkeep.relay.settle import SettleMixin


class OrderMixin(SettleMixin):
    async def _in_order(self, batch: list[Queued]) -> list[Queued]:
        """The queued changes that cannot overtake an earlier change of their task, in
        outbox id order; the others wait in ``_held``.

        Hooks do not run in commit order: a request may resume after the next change of
        its task has committed. Per task, outbox ids and versions do follow commit order,
        and each change adds one to the version. A change is safe when it follows the
        version this process last published; otherwise (unknown or a gap) the outbox
        decides: no older row of the task is left there, or it waits.
        """
        by_task: dict[str, list[Queued]] = {}
        for item in batch:
            # Not newer than what went out: a claim published it while its hook was late.
            if item.version > self._last.get(item.task_id, 0):
                by_task.setdefault(item.task_id, []).append(item)
        unsure = [t for t, items in by_task.items() if not self._follows(t, items[0].version)]
        oldest: dict[str, int] = {}
        if unsure:
            await self.settle()  # rows this process published must not count as waiting
            oldest = await self.store.oldest_outbox_ids(unsure)
        ready: list[Queued] = []
        for task_id, items in by_task.items():
            if oldest.get(task_id, items[0].outbox_id) < items[0].outbox_id:
                self._hold(items)
                continue
            run = 1
            while run < len(items) and items[run].version == items[run - 1].version + 1:
                run += 1
            ready += items[:run]
            self._hold(items[run:])
        return sorted(ready, key=attrgetter("outbox_id"))

    def _follows(self, task_id: str, version: int) -> bool:
        last = self._last.get(task_id)
        return version == (FIRST_CHANGE_VERSION if last is None else last + 1)

    def _hold(self, items: list[Queued]) -> None:
        # Held for at most half the grace, then left to the database path: the poll
        # publishes such rows in order after the grace, and never while also queued here.
        oldest_kept = asyncio.get_running_loop().time() - self.grace_seconds / 2
        self._held += [item for item in items if item.queued_at > oldest_kept]

    def _remember(self, task_id: str, version: int) -> None:
        last = self._last.pop(task_id, 0)
        self._last[task_id] = max(last, version)
        if len(self._last) > TRACKED_TASKS:
            del self._last[next(iter(self._last))]
