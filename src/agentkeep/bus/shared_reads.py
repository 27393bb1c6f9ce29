"""``SharedReads``: identical reads that queue for a connection at once share one command.

When a thousand viewers open a stream of the same task at once (a dashboard reloads, a
load balancer moves every client), each asks Redis for the same few things: the stream's
end, then the entries after it. Sent one by one, those reads queue for the small command
pool; with the event loop busy accepting connections they held it long enough for other
requests to wait past the pool's timeout, and for the health probe to call Redis down.

Here a read waits for one of a bounded number of slots, and every identical read asked
for while it waits joins it. The read leaves the waiting room *before* its command is
sent, so a caller never gets an answer older than its own call: what it joins is answered
by Redis after it asked. Slots are fewer than the pool's connections, so writes (the relay's
publishes, a stream's wake-up) and the health probe never queue behind a burst of reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class SharedReads:
    def __init__(self, slots: int) -> None:
        self._slots = asyncio.Semaphore(slots)
        #: Reads waiting for a slot, by what they ask; each is answered once for all.
        self._waiting: dict[Hashable, asyncio.Future[Any]] = {}
        # Strong references: the loop keeps only weak ones to running tasks.
        self._leaders: set[asyncio.Task[None]] = set()

    async def read(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``'s answer, shared with every caller of the same ``key`` that asked
        while it waited for a slot. Cancelling one caller does not cancel the others."""
        shared = self._waiting.get(key)
        if shared is None:
            shared = asyncio.get_running_loop().create_future()
            shared.add_done_callback(_retrieve)
            self._waiting[key] = shared
            leader = asyncio.create_task(self._lead(key, shared, call))
            self._leaders.add(leader)
            leader.add_done_callback(self._leaders.discard)
        result: T = await asyncio.shield(shared)
        return result

    async def _lead(
        self, key: Hashable, shared: asyncio.Future[Any], call: Callable[[], Awaitable[Any]]
    ) -> None:
        try:
            async with self._slots:
                # Closed to joiners from here: a caller that comes now must see what is
                # written from now on, so it starts the next read.
                del self._waiting[key]
                result = await call()
        except asyncio.CancelledError:
            if self._waiting.get(key) is shared:
                del self._waiting[key]
            shared.cancel()
            raise
        except Exception as exc:  # every caller gets the driver's error as its own
            shared.set_exception(exc)
        else:
            shared.set_result(result)

    async def close(self) -> None:
        """Cancel reads still in flight (the connections are about to close)."""
        for leader in list(self._leaders):
            leader.cancel()
        if self._leaders:
            await asyncio.wait(list(self._leaders))


def _retrieve(shared: asyncio.Future[Any]) -> None:
    # When every caller left before the answer came, nobody reads its error: take it here,
    # or asyncio logs "exception was never retrieved" when the future is collected.
    if not shared.cancelled():
        shared.exception()
