"""The ``EventBus`` protocol: one ordered, bounded, expiring stream per task."""

from __future__ import annotations

from typing import Any, Protocol


class EventBus(Protocol):
    async def publish(self, task_id: str, event: dict[str, Any]) -> str:
        """Append ``event`` to the task's stream; return the new entry's id."""
        ...

    async def ping(self) -> None:
        """Raise if the bus cannot be reached."""
        ...

    async def close(self) -> None: ...
