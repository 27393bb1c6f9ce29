"""The ``EventBus`` protocol: one ordered, bounded, expiring stream per task.

Entry ids are Redis stream ids (``<ms>-<seq>``) on every implementation, so cursors mean
the same thing whichever bus a process runs, and ``"0-0"`` is "before everything".
Implementations translate their driver errors into ``errors.BusUnavailable``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import orjson

#: The cursor before the first entry of any stream.
START = "0-0"


def stream_key(task_id: str) -> str:
    """Agentex's key: agentex-sdk agents XADD their token updates here themselves."""
    return f"task:{task_id}"


def parse_id(entry_id: str) -> tuple[int, int]:
    """``"<ms>-<seq>"`` → a tuple that orders like the stream; ValueError if malformed."""
    ms, sep, seq = entry_id.partition("-")
    if not ms.isdigit() or (sep and not seq.isdigit()):
        raise ValueError(f"not a stream entry id: {entry_id!r}")
    return int(ms), int(seq) if sep else 0


@dataclass(frozen=True, slots=True)
class Head:
    """What readers decide on: an entry's type and, for ``task_updated``, the task's
    id, version and status. Small on purpose (see ``Entry.head``)."""

    is_event: bool
    type: object = None
    task_id: object = None
    version: object = None
    status: object = None


@dataclass(frozen=True)
class Entry:
    """One stream entry: its id and the raw event JSON (passed to viewers byte for byte)."""

    id: str
    data: str

    @property
    def event(self) -> dict[str, Any]:
        """The decoded event; ``{}`` for an entry that is not a JSON object (foreign writer).

        Decoded on each call, never kept: an entry held by the in-memory bus would
        otherwise hold its content twice, as text and as objects.
        """
        try:
            value = orjson.loads(self.data)
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    @cached_property
    def head(self) -> Head:
        """The fields every viewer checks, decoded once per entry and kept (they are small)."""
        event = self.event
        if not event:
            return Head(is_event=False)
        task = event.get("task")
        task = task if isinstance(task, dict) else {}
        return Head(
            True, event.get("type"), task.get("id"), task.get("version"), task.get("status")
        )

    @property
    def key(self) -> tuple[int, int]:
        return parse_id(self.id)


class EventBus(Protocol):
    async def publish(self, task_id: str, event: dict[str, Any]) -> str:
        """Append ``event`` to the task's stream; return the new entry's id."""
        ...

    async def append(self, task_id: str, data: str) -> str:
        """Append already-encoded event JSON; return the new entry's id."""
        ...

    async def last_id(self, task_id: str) -> str:
        """The id of the newest entry, or ``START`` for an empty or expired stream."""
        ...

    async def read_after(self, task_id: str, cursor: str, count: int = 500) -> list[Entry]:
        """Up to ``count`` entries strictly after ``cursor``, oldest first."""
        ...

    async def tail(self, task_id: str, count: int) -> list[Entry]:
        """The newest ``count`` entries, oldest first."""
        ...

    async def wait(
        self, cursors: Mapping[str, str], timeout: float, count: int = 500
    ) -> dict[str, list[Entry]]:
        """Block until any task in ``cursors`` has entries after its cursor, or ``timeout``.

        Returns only tasks with new entries. ``interrupt()`` makes a pending call return
        early (with whatever it has, possibly nothing), so a caller can change its cursors.
        """
        ...

    async def interrupt(self) -> None:
        """Wake every pending ``wait`` of this bus object."""
        ...

    async def ping(self) -> None:
        """Raise ``errors.BusUnavailable`` if the bus cannot be reached."""
        ...

    async def close(self) -> None: ...
