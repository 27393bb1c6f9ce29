"""``InMemoryBus``: the embedded default, one process only.

It keeps Redis Streams' semantics so that the SSE layer and the relay cannot tell the two
apart: ``<ms>-<seq>`` ids that only grow, trimming to ``maxlen``, and a sliding expiry
refreshed by every write (``ttl_seconds=0`` disables it).

Unlike Redis it lives in the server's own memory, so it is also bounded by bytes: all
streams together hold at most ``max_bytes`` of event text (``AGENTKEEP_STREAM_MAX_BYTES``);
beyond that the oldest entries of any stream go first. A count alone let 20 large messages
on one unwatched task hold hundreds of megabytes for an hour.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import orjson

from agentkeep.bus.base import START, Entry, parse_id

#: Every this many appends, expired streams are swept out.
PURGE_EVERY = 1000


#: The default bound on all streams' event text together.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class _Stream:
    __slots__ = ("entries", "expires_at")

    def __init__(self) -> None:
        self.entries: deque[Entry] = deque()
        self.expires_at = float("inf")


class InMemoryBus:
    """Per-task streams held in this process."""

    def __init__(
        self, maxlen: int = 10_000, ttl_seconds: int = 3600, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.maxlen = maxlen
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        self._streams: dict[str, _Stream] = {}
        #: Bytes and entries held; the age order of every entry (task id, entry key), some
        #: of them already gone (trimmed or expired), skipped when they reach the front.
        self.held_bytes = 0
        self._held = 0
        self._age: deque[tuple[str, tuple[int, int]]] = deque()
        self._last: tuple[int, int] = (0, 0)
        # One event per pending ``wait``: publish and interrupt set them all.
        self._waiters: set[asyncio.Event] = set()
        self._appends = 0

    def _next_id(self) -> str:
        ms = int(time.time() * 1000)
        last_ms, seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, seq + 1)
        return f"{self._last[0]}-{self._last[1]}"

    def _stream(self, task_id: str) -> _Stream | None:
        stream = self._streams.get(task_id)
        if stream is not None and stream.expires_at <= time.monotonic():
            self._drop(task_id)
            return None
        return stream

    def _drop(self, task_id: str) -> None:
        stream = self._streams.pop(task_id)
        self.held_bytes -= sum(len(e.data) for e in stream.entries)
        self._held -= len(stream.entries)

    def _pop_oldest(self, stream: _Stream) -> None:
        entry = stream.entries.popleft()
        self.held_bytes -= len(entry.data)
        self._held -= 1

    def _trim(self, stream: _Stream) -> None:
        """Hold ``maxlen`` entries per stream and ``max_bytes`` in all (never evicting the
        entry just written, so one oversized event still reaches its live viewers)."""
        while len(stream.entries) > self.maxlen:
            self._pop_oldest(stream)
        while self.held_bytes > self.max_bytes and self._held > 1:
            owner, key = self._age.popleft()
            oldest = self._streams.get(owner)
            # Entries leave a stream oldest first, so an age entry is live exactly when it
            # is its stream's first; anything else was trimmed or expired already.
            if oldest is not None and oldest.entries and oldest.entries[0].key == key:
                self._pop_oldest(oldest)
        if len(self._age) > 2 * self._held + 1024:
            self._age = deque(a for a in self._age if self._live(a))

    def _live(self, age: tuple[str, tuple[int, int]]) -> bool:
        stream = self._streams.get(age[0])
        return stream is not None and bool(stream.entries) and stream.entries[0].key <= age[1]

    async def publish(self, task_id: str, event: dict[str, Any]) -> str:
        return await self.append(task_id, orjson.dumps(event).decode())

    def _purge_expired(self) -> None:
        now = time.monotonic()
        for task_id in [t for t, s in self._streams.items() if s.expires_at <= now]:
            self._drop(task_id)

    async def append(self, task_id: str, data: str) -> str:
        self._appends += 1
        if self._appends % PURGE_EVERY == 0:
            # Expired streams are dropped lazily on access; this catches the ones that are
            # never read again, so memory stays bounded by live tasks.
            self._purge_expired()
        stream = self._stream(task_id)
        if stream is None:
            stream = self._streams[task_id] = _Stream()
        entry = Entry(self._next_id(), data)
        stream.entries.append(entry)
        self.held_bytes += len(data)
        self._held += 1
        self._age.append((task_id, entry.key))
        self._trim(stream)
        if self.ttl_seconds:
            stream.expires_at = time.monotonic() + self.ttl_seconds
        await self.interrupt()
        return entry.id

    async def last_id(self, task_id: str) -> str:
        stream = self._stream(task_id)
        return stream.entries[-1].id if stream and stream.entries else START

    def _after(self, task_id: str, cursor: str, count: int) -> list[Entry]:
        stream = self._stream(task_id)
        if stream is None:
            return []
        entries = stream.entries
        # Ids grow monotonically, so the deque is sorted: binary search for the cursor.
        start = bisect.bisect_right(entries, parse_id(cursor), key=lambda e: e.key)
        return [entries[i] for i in range(start, min(start + count, len(entries)))]

    async def read_after(self, task_id: str, cursor: str, count: int = 500) -> list[Entry]:
        return self._after(task_id, cursor, count)

    async def tail(self, task_id: str, count: int) -> list[Entry]:
        stream = self._stream(task_id)
        return list(stream.entries)[-count:] if stream and count > 0 else []

    def _ready(self, cursors: Mapping[str, str], count: int) -> dict[str, list[Entry]]:
        found = {t: self._after(t, c, count) for t, c in cursors.items()}
        return {t: entries for t, entries in found.items() if entries}

    async def wait(
        self, cursors: Mapping[str, str], timeout: float, count: int = 500
    ) -> dict[str, list[Entry]]:
        ready = self._ready(cursors, count)
        if ready:
            return ready
        woken = asyncio.Event()
        self._waiters.add(woken)
        try:
            async with asyncio.timeout(timeout):
                await woken.wait()
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(woken)
        return self._ready(cursors, count)

    async def interrupt(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        await self.interrupt()
        self._streams.clear()
        self._age.clear()
        self.held_bytes = self._held = 0
