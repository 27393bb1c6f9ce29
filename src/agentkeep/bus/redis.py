"""``RedisStreamsBus``: per-task streams on Redis, shared by every server process.

Format is Agentex's, because agentex-sdk agents write into the same keys: stream key
``task:{task_id}``, one field ``data`` holding the event JSON, ``XADD … MAXLEN ~`` and a
sliding ``EXPIRE``. Connections are bounded per process: commands share a small blocking
pool, and blocking reads (``wait``) use a second, smaller one, so a thousand viewers fanned
out in memory never mean a thousand connections. Reads share commands and leave
connections free for writes (``SharedReads``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from agentkeep import errors
from agentkeep.bus.base import START, Entry, stream_key
from agentkeep.bus.shared_reads import SharedReads

T = TypeVar("T")

#: The only field of a stream entry (Agentex's).
DATA_FIELD = "data"
#: Each bus object wakes its own blocking reads through this stream (see ``interrupt``).
WAKE_KEY = "agentkeep:wake:{}"
#: Slack on top of ``XREAD BLOCK`` before a silent connection counts as dead.
_BLOCK_SLACK_SECONDS = 5.0
#: Command connections reads never take: writes and the health probe always find one.
_KEPT_FOR_WRITES = 2


@contextlib.asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    """Driver errors become ``BusUnavailable`` at this boundary, like the store's."""
    try:
        yield
    except (RedisError, OSError, TimeoutError) as exc:
        raise errors.BusUnavailable(f"Redis unavailable: {type(exc).__name__}") from exc


def _client(url: str, max_connections: int, socket_timeout: float | None) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=5,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=socket_timeout,
        # One immediate retry on a fresh connection when a pooled one turns out dead (Redis
        # restarted since it was opened): without it, each stale connection in the pool
        # fails one request after Redis is back. Timeouts are not retried: the relay and
        # the fan-out reader have their own backoff, and a retry would double the wait.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    return aioredis.Redis(connection_pool=pool)


class RedisStreamsBus:
    def __init__(
        self,
        url: str,
        *,
        maxlen: int = 10_000,
        ttl_seconds: int = 3600,
        max_connections: int = 10,
    ) -> None:
        self.maxlen = maxlen
        self.ttl_seconds = ttl_seconds
        self._redis = _client(url, max_connections, socket_timeout=5)
        # Blocking reads hold their connection for the whole block: keep them apart from
        # commands so a reader never starves a publish.
        self._blocking = _client(url, 2, socket_timeout=None)
        self._wake_key = WAKE_KEY.format(uuid.uuid4().hex)
        self._wake_cursor = START
        self._reads = SharedReads(max(1, max_connections - _KEPT_FOR_WRITES))

    async def publish(self, task_id: str, event: dict[str, Any]) -> str:
        return await self.append(task_id, orjson.dumps(event).decode())

    async def append(self, task_id: str, data: str) -> str:
        key = stream_key(task_id)
        async with _translated(), self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {DATA_FIELD: data}, maxlen=self.maxlen, approximate=True)
            if self.ttl_seconds:
                pipe.expire(key, self.ttl_seconds)
            results = await pipe.execute()
        return str(results[0])

    async def last_id(self, task_id: str) -> str:
        async def call() -> str:
            found: Any = await self._redis.xrevrange(stream_key(task_id), count=1)
            return str(found[0][0]) if found else START

        return await self._shared(("last_id", task_id), call)

    async def read_after(self, task_id: str, cursor: str, count: int = 500) -> list[Entry]:
        async def call() -> list[Entry]:
            found: Any = await self._redis.xrange(stream_key(task_id), f"({cursor}", count=count)
            return [_entry(entry_id, fields) for entry_id, fields in found]

        return list(await self._shared(("read_after", task_id, cursor, count), call))

    async def tail(self, task_id: str, count: int) -> list[Entry]:
        async def call() -> list[Entry]:
            found: Any = await self._redis.xrevrange(stream_key(task_id), count=count)
            return [_entry(entry_id, fields) for entry_id, fields in reversed(found)]

        return list(await self._shared(("tail", task_id, count), call))

    async def up_to(self, task_id: str, cursor: str, count: int) -> list[Entry]:
        async def call() -> list[Entry]:
            key = stream_key(task_id)
            found: Any = await self._redis.xrevrange(key, cursor, "-", count=count)
            return [_entry(entry_id, fields) for entry_id, fields in reversed(found)]

        return list(await self._shared(("up_to", task_id, cursor, count), call))

    async def _shared(self, key: tuple[object, ...], call: Callable[[], Awaitable[T]]) -> T:
        """``call`` as one of the reads ``SharedReads`` coalesces; the entries it returns
        are shared by its callers (each gets its own list of them: entries are frozen)."""

        async def translated() -> T:
            async with _translated():
                return await call()

        return await self._reads.read(key, translated)

    async def wait(
        self, cursors: Mapping[str, str], timeout: float, count: int = 500
    ) -> dict[str, list[Entry]]:
        streams: dict[Any, Any] = {stream_key(t): c for t, c in cursors.items()}
        streams[self._wake_key] = self._wake_cursor
        block_ms = max(1, int(timeout * 1000))
        async with _translated(), asyncio.timeout(timeout + _BLOCK_SLACK_SECONDS):
            found: Any = await self._blocking.xread(streams, count=count, block=block_ms)
        ready: dict[str, list[Entry]] = {}
        for key, raw_entries in found or []:
            if key == self._wake_key:
                self._wake_cursor = str(raw_entries[-1][0])
                continue
            task_id = str(key).removeprefix("task:")
            ready[task_id] = [_entry(entry_id, fields) for entry_id, fields in raw_entries]
        return ready

    async def interrupt(self) -> None:
        # A pending XREAD cannot be cancelled without dropping its connection; writing to a
        # key it watches wakes it cleanly, and the cursor makes a wake sent before the
        # XREAD starts count too.
        async with _translated(), self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(self._wake_key, {"wake": "1"}, maxlen=1, approximate=False)
            pipe.expire(self._wake_key, 3600)
            await pipe.execute()

    async def ping(self) -> None:
        async with _translated():
            await self._redis.ping()

    async def close(self) -> None:
        await self._reads.close()
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._wake_key)
        await self._redis.aclose()
        await self._blocking.aclose()
        await self._redis.connection_pool.disconnect()
        await self._blocking.connection_pool.disconnect()


def _entry(entry_id: Any, fields: Mapping[str, Any] | None) -> Entry:
    # Entries written by other producers may lack ``data``; viewers then get ``{}``-less
    # raw text, which the SSE layer skips.
    data = (fields or {}).get(DATA_FIELD)
    return Entry(str(entry_id), data if isinstance(data, str) else "")
