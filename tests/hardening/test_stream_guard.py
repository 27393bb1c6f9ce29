"""The stream trusts the task row, not the bus: a forged terminal ``task_updated`` (anything
that can XADD to ``task:{id}`` can write one) does not close viewers' streams, and a raw
CR in an entry never splits an SSE frame. Every database, every bus."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agentkeep import sse
from agentkeep.app import create_app
from agentkeep.bus.base import EventBus
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
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
