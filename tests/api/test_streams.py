"""SSE streams on every database and every bus, against a real uvicorn in this process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.bus.base import EventBus
from agentkeep.domain import status
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from agentkeep.store.changes import Change
from agentkeep.store.outbox import task_updated_event
from tests.streaming_kit import make_task, open_stream, publish, serve_in_process


@pytest.fixture
async def http(
    settings: Settings, store: SqlStore, bus: EventBus
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, store=store, bus=bus)
    async with serve_in_process(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as c:
        yield c


async def test_connected_then_each_change_then_end(http: httpx.AsyncClient) -> None:
    task = await make_task(http)
    async with open_stream(http, f"/tasks/{task['id']}/stream") as s:
        first = await s.event()
        assert first is not None and first.data == {"type": "connected", "taskId": task["id"]}
        await http.post(f"/tasks/{task['id']}/interrupt")
        interrupted = await s.event()
        await publish(http, task["id"], "hi")
        delta = await s.event()
        await http.post(f"/tasks/{task['id']}/complete", json={"reason": "done"})
        rest = await s.rest()
    assert interrupted is not None and interrupted.data is not None
    assert interrupted.data["task"]["status"] == "INTERRUPTED"
    assert delta is not None and delta.data is not None and delta.id is None
    assert delta.data["delta"]["text_delta"] == "hi"
    assert [(f.type, f.data["task"]["status"]) for f in rest if f.data] == [
        ("task_updated", "COMPLETED")
    ]
    assert s.raw.startswith(f'data: {{"type":"connected","taskId":"{task["id"]}"}}\n\n')
    assert "id:" not in s.raw


async def test_resume_gets_exactly_the_missed_events_in_order(http: httpx.AsyncClient) -> None:
    task = await make_task(http)
    path = f"/tasks/{task['id']}/stream"
    async with open_stream(http, path, params={"ids": "1"}) as s:
        assert (await s.event()) is not None  # connected
        await publish(http, task["id"], "a")
        seen = await s.event()
    assert seen is not None and seen.id is not None
    await publish(http, task["id"], "b", "c")
    for kwargs in ({"headers": {"Last-Event-ID": seen.id}}, {"params": {"last_event_id": seen.id}}):
        async with open_stream(http, path, **kwargs) as s:
            connected = await s.event()
            b, c = await s.event(), await s.event()
        assert connected is not None and connected.type == "connected"
        assert b is not None and c is not None and b.data and c.data
        assert [b.data["delta"]["text_delta"], c.data["delta"]["text_delta"]] == ["b", "c"]
        assert b.id is not None and c.id is not None and seen.id < b.id < c.id


async def test_keepalive_after_quiet_without_ids(http: httpx.AsyncClient) -> None:
    task = await make_task(http)
    async with open_stream(http, f"/tasks/{task['id']}/stream") as s:
        frames = [await s.next() for _ in range(3)]
    assert [f.comment for f in frames if f] == [None, "ping", "ping"]
    assert s.raw.endswith("\n\n:ping\n\n:ping\n\n")


async def test_keepalive_with_ids_has_no_blank_line(http: httpx.AsyncClient) -> None:
    task = await make_task(http)
    async with open_stream(http, f"/tasks/{task['id']}/stream?ids=1") as s:
        frames = [await s.next() for _ in range(3)]
    assert [f.comment for f in frames if f] == [None, "ping", "ping"]
    assert s.raw.endswith("\n\n:ping\n:ping\n")


async def test_late_connect_to_terminal_task_gets_current_row(http: httpx.AsyncClient) -> None:
    task = await make_task(http)
    await http.post(f"/tasks/{task['id']}/terminate")
    async with open_stream(http, f"/tasks/{task['id']}/stream") as s:
        frames = await s.rest()
    assert [f.type for f in frames] == ["connected", "task_updated"]
    assert frames[1].data is not None and frames[1].data["task"]["status"] == "TERMINATED"


async def test_late_connect_with_cursor_replays_then_204(http: httpx.AsyncClient) -> None:
    task = await make_task(http)
    path = f"/tasks/{task['id']}/stream"
    async with open_stream(http, path, params={"ids": "1"}) as s:
        assert (await s.event()) is not None
        await publish(http, task["id"], "a")
        first = await s.event()
        await publish(http, task["id"], "b")
        await http.post(f"/tasks/{task['id']}/complete")
        rest = await s.rest()
    assert first is not None and first.id is not None
    async with open_stream(http, path, headers={"Last-Event-ID": first.id}) as s:
        replay = await s.rest()
    assert [f.type for f in replay] == ["connected", "delta", "task_updated"]
    assert [f.id for f in replay[1:]] == [f.id for f in rest]
    end = rest[-1].id
    assert end is not None
    r = await http.get(path, headers={"Last-Event-ID": end})
    assert r.status_code == 204


async def test_unknown_id_is_an_error_frame_unknown_name_404(http: httpx.AsyncClient) -> None:
    async with open_stream(http, f"/tasks/{uuid.uuid4()}/stream") as s:
        frames = await s.rest()
    assert [f.type for f in frames] == ["error"]
    r = await http.get("/tasks/name/nope-never/stream")
    assert r.status_code == 404 and "nope-never" in r.json()["message"]


async def test_bad_cursor_is_400(http: httpx.AsyncClient) -> None:
    task = await make_task(http)
    r = await http.get(f"/tasks/{task['id']}/stream", headers={"Last-Event-ID": "banana"})
    assert r.status_code == 400 and r.json()["code"] == 400


async def test_stream_by_name(http: httpx.AsyncClient) -> None:
    task = await make_task(http, name=f"t-{uuid.uuid4().hex[:8]}")
    async with open_stream(http, f"/tasks/name/{task['name']}/stream") as s:
        assert (await s.event()) is not None
        await http.post(f"/tasks/{task['id']}/cancel")
        frames = await s.rest()
    assert [f.data["task"]["status"] for f in frames if f.data] == ["CANCELED"]


async def test_repeated_task_version_is_dropped(http: httpx.AsyncClient, bus: EventBus) -> None:
    task = await make_task(http)
    async with open_stream(http, f"/tasks/{task['id']}/stream") as s:
        assert (await s.event()) is not None
        await http.post(f"/tasks/{task['id']}/interrupt")
        changed = await s.event()
        assert changed is not None and changed.data is not None
        # A relay retry after an unknown outcome can publish the same change twice.
        await bus.publish(task["id"], changed.data)
        await publish(http, task["id"], "after")
        nxt = await s.event()
    assert nxt is not None and nxt.type == "delta"


async def test_post_stream_events_validates(http: httpx.AsyncClient) -> None:
    task = await make_task(http)
    r = await http.post(f"/tasks/{task['id']}/stream/events", json={"type": "nonsense"})
    assert r.status_code == 422
    r = await http.post(f"/tasks/{uuid.uuid4()}/stream/events", json={"type": "done", "index": 0})
    assert r.status_code == 404
    r = await http.post(f"/tasks/{task['id']}/stream/events", json={"type": "done", "index": 0})
    assert r.status_code == 200 and len(r.json()["ids"]) == 1


async def test_an_ending_found_by_the_recheck_still_comes_with_its_entry_id(
    http: httpx.AsyncClient, store: SqlStore, bus: EventBus
) -> None:
    # The row ends with no after-commit hook (as if the relay had not published yet), so
    # the stream's recheck at the next keepalive finds it ended before the entry comes.
    task = await make_task(http)
    async with open_stream(http, f"/tasks/{task['id']}/stream", params={"ids": "1"}) as s:
        assert (await s.event()) is not None
        target = status.TaskStatus.COMPLETED
        change = Change("test", None, "ended behind the stream's back")
        row = await store.transition(task["id"], target, change, sources=status.sources_for(target))
        assert row is not None
        ping = await s.next()
        assert ping is not None and ping.comment == "ping"  # the recheck runs right after
        entry_id = await bus.publish(task["id"], task_updated_event(row))
        rest = await s.rest()
    # The update as the stream holds it, resumable from its id; not a copy of the row.
    assert [(f.type, f.id) for f in rest] == [("task_updated", entry_id)]
