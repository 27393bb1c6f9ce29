"""``InMemoryBus``: the embedded default, one process only."""

from __future__ import annotations

import time
from collections import deque
from typing import Any


class InMemoryBus:
    """Per-task streams held in this process, with Redis-like ``<ms>-<seq>`` entry ids."""

    def __init__(self, maxlen: int = 10_000, ttl_seconds: int = 3600) -> None:
        self.maxlen = maxlen
        self.ttl_seconds = ttl_seconds
        self._streams: dict[str, deque[tuple[str, dict[str, Any]]]] = {}
        self._last: tuple[int, int] = (0, 0)

    def _next_id(self) -> str:
        ms = int(time.time() * 1000)
        last_ms, seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, seq + 1)
        return f"{self._last[0]}-{self._last[1]}"

    async def publish(self, task_id: str, event: dict[str, Any]) -> str:
        stream = self._streams.setdefault(task_id, deque(maxlen=self.maxlen))
        entry_id = self._next_id()
        stream.append((entry_id, event))
        return entry_id

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._streams.clear()
