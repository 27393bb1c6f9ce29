"""``SharedReads``: who shares a read, who starts a new one, and what each caller gets."""

from __future__ import annotations

import asyncio
import contextlib
import gc

import pytest

from agentkeep.bus.shared_reads import SharedReads


class Source:
    """A read that answers with its own call number, and can be held mid-flight."""

    def __init__(self) -> None:
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.sent = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def read(self) -> int:
        self.calls += 1
        number = self.calls
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.sent.set()
        try:
            await self.release.wait()
        finally:
            self.in_flight -= 1
        return number


async def test_callers_asking_together_share_one_read() -> None:
    reads, source = SharedReads(slots=2), Source()
    answers = await asyncio.gather(*(reads.read("end", source.read) for _ in range(500)))
    assert answers == [1] * 500
    assert source.calls == 1


async def test_a_caller_after_the_read_was_sent_gets_a_read_of_its_own() -> None:
    # Joining a read already sent could answer with a state older than the caller's call.
    reads, source = SharedReads(slots=2), Source()
    source.release.clear()
    first = asyncio.create_task(reads.read("end", source.read))
    await source.sent.wait()
    second = asyncio.create_task(reads.read("end", source.read))
    await asyncio.sleep(0)
    source.release.set()
    assert (await first, await second) == (1, 2)


async def test_callers_waiting_for_a_slot_join_the_read_that_waits() -> None:
    reads, source = SharedReads(slots=1), Source()
    source.release.clear()
    busy = asyncio.create_task(reads.read("other", source.read))
    await source.sent.wait()  # the only slot is taken: reads of "end" wait for it
    waiting = [asyncio.create_task(reads.read("end", source.read)) for _ in range(50)]
    await asyncio.sleep(0.01)
    assert source.calls == 1
    source.release.set()
    assert await busy == 1
    assert await asyncio.gather(*waiting) == [2] * 50
    assert source.most_in_flight == 1


async def test_different_reads_use_at_most_the_slots() -> None:
    reads, source = SharedReads(slots=3), Source()
    source.release.clear()
    pending = [asyncio.create_task(reads.read(n, source.read)) for n in range(20)]
    await asyncio.sleep(0.01)
    assert source.in_flight == 3
    source.release.set()
    assert sorted(await asyncio.gather(*pending)) == list(range(1, 21))
    assert source.most_in_flight == 3


async def test_a_caller_leaving_does_not_cancel_the_others() -> None:
    reads, source = SharedReads(slots=1), Source()
    source.release.clear()
    leaving = asyncio.create_task(reads.read("end", source.read))
    staying = asyncio.create_task(reads.read("end", source.read))
    await source.sent.wait()
    leaving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await leaving
    source.release.set()
    assert await staying == 1


async def test_every_caller_gets_the_error() -> None:
    reads = SharedReads(slots=1)

    async def failing() -> int:
        await asyncio.sleep(0)
        raise ConnectionError("redis went away")

    outcomes = await asyncio.gather(
        *(reads.read("end", failing) for _ in range(5)), return_exceptions=True
    )
    assert [type(o) for o in outcomes] == [ConnectionError] * 5


async def test_an_error_nobody_waits_for_is_not_reported_as_unretrieved() -> None:
    # Otherwise asyncio logs "Future exception was never retrieved" with a traceback when
    # the future is collected: noise in the server's log on every disconnect during a blip.
    reported: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: reported.append(ctx))
    reads = SharedReads(slots=1)
    gate = asyncio.Event()

    async def failing() -> int:
        await gate.wait()
        raise ConnectionError("redis went away")

    caller = asyncio.create_task(reads.read("end", failing))
    await asyncio.sleep(0)
    caller.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await caller
    gate.set()
    for _ in range(3):
        await asyncio.sleep(0)
    del caller
    gc.collect()
    assert reported == []


async def test_close_cancels_reads_in_flight() -> None:
    reads, source = SharedReads(slots=1), Source()
    source.release.clear()
    caller = asyncio.create_task(reads.read("end", source.read))
    await source.sent.wait()
    await reads.close()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert source.in_flight == 0
