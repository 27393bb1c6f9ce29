"""The stream trusts the task row, not the bus: a forged terminal ``task_updated`` (anything
that can XADD to ``task:{id}`` can write one) does not close viewers' streams, and a raw
CR in an entry never splits an SSE frame. Every database, every bus.

Without reading the row, a stream believes only what this process committed itself: a
final status (one no move leaves), which the row then has for good."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agentkeep import sse
from agentkeep.app import create_app
from agentkeep.bus.base import EventBus
from agentkeep.domain import status
from agentkeep.domain.status import TaskStatus
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import running_app
from tests.streaming_kit import make_task, open_stream, publish, serve_in_process


@pytest.fixture
async def http(
    settings: Settings, store: SqlStore, bus: EventBus
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, store=store, bus=bus)
    async with serve_in_process(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as c:
        yield c


async def test_a_forged_terminal_update_does_not_end_the_stream(
    http: httpx.AsyncClient, bus: EventBus
) -> None:
    task = await make_task(http)
    forged = {"type": "task_updated", "task": {**task, "status": "COMPLETED", "version": 2}}
    async with open_stream(http, f"/tasks/{task['id']}/stream") as s:
        assert (await s.event()) is not None  # connected
        await bus.publish(task["id"], forged)
        await publish(http, task["id"], "still here")
        after_forgery = await s.event()
        await http.post(f"/tasks/{task['id']}/complete", json={"reason": "real"})
        rest = await s.rest()
    assert after_forgery is not None and after_forgery.data is not None
    assert after_forgery.data["delta"]["text_delta"] == "still here"
    # The real change has the version the forgery claimed: it is shown, not deduplicated.
    assert [
        (f.data["task"]["status"], f.data["task"]["status_reason"]) for f in rest if f.data
    ] == [("COMPLETED", "real")]


async def test_only_endings_this_process_committed_are_believed_without_a_read(
    settings: Settings, store: SqlStore, bus: EventBus
) -> None:
    app = create_app(settings, store=store, bus=bus)
    async with running_app(app) as c:
        done, failed, forged = [await make_task(c) for _ in range(3)]
        await c.post(f"/tasks/{done['id']}/complete")
        await c.post(f"/tasks/{failed['id']}/fail")  # may be resumed: the row decides
        claim = {"type": "task_updated", "task": {**forged, "status": "COMPLETED", "version": 2}}
        await bus.publish(forged["id"], claim)
        fanout = app.state.fanout
        assert [fanout.ended(t["id"]) for t in (done, failed, forged)] == [True, False, False]


def test_a_final_status_is_never_left() -> None:
    assert status.FINAL == {
        TaskStatus.COMPLETED,
        TaskStatus.CANCELED,
        TaskStatus.TERMINATED,
        TaskStatus.TIMED_OUT,
        TaskStatus.DELETED,
    }
    for target, sources in status.ALLOWED_SOURCES.items():
        assert not sources & status.FINAL or target in status.FINAL, target


async def test_a_raw_cr_in_an_entry_stays_inside_its_frame(
    http: httpx.AsyncClient, bus: EventBus
) -> None:
    task = await make_task(http)
    async with open_stream(http, f"/tasks/{task['id']}/stream") as s:
        assert (await s.event()) is not None
        # Valid JSON: CR and LF are whitespace between tokens.
        await bus.append(task["id"], '{"type":"delta",\r"index":0,\r\n"x":"a"}')
        frame = await s.event()
        await http.post(f"/tasks/{task['id']}/complete")
        await s.rest()
    assert frame is not None and frame.data == {"type": "delta", "index": 0, "x": "a"}
    assert "\r" not in s.raw
    body = s.raw.split("\n\n")[1]
    assert body.splitlines() == ['data: {"type":"delta",', 'data: "index":0,', 'data: "x":"a"}']


def test_frames_split_on_every_line_break_an_sse_parser_honours() -> None:
    assert sse.frame("a\rb\r\nc\nd", "1-0") == b"id: 1-0\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
    assert sse.frame('{"a":1}') == b'data: {"a":1}\n\n'
