"""A stream that cannot serve a resume cursor (the in-memory bus after a restart, Redis
after losing its data) answers with a ``reset`` marker and the current task, so the client
converges and knows it may have missed updates (issue 13: no 204 for a finished task)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.reliability.kit import Server, create_task, read_stream, register_agent

pytestmark = pytest.mark.timeout(300)


def test_resuming_a_finished_task_after_a_restart_gets_its_end(
    sqlite_url: str, servers: list[Server], tmp_path: Path
) -> None:
    server = Server({"AGENTKEEP_DATABASE_URL": sqlite_url}, tmp_path / "server.log")
    servers.append(server)
    server.start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        agent = register_agent(http, "restart")
        task = create_task(http, agent["id"])
        assert http.put(f"/tasks/{task['id']}", json={"task_metadata": {"a": 1}}).status_code == 200
        assert http.post(f"/tasks/{task['id']}/complete").status_code == 200
    url = f"{server.url}/tasks/{task['id']}/stream"
    _, before = read_stream(f"{url}?last_event_id=0-0")
    cursor = before[-1].id
    assert cursor is not None
    server.terminate()
    server.start()
    code, got = read_stream(url, headers={"Last-Event-ID": cursor})
    assert code == 200
    assert [(f.event, f.data["type"]) for f in got] == [
        (None, "connected"),
        ("reset", "reset"),
        (None, "task_updated"),
    ]
    assert got[-1].data["task"]["status"] == "COMPLETED"
    assert got[-1].data["task"]["version"] == 3
