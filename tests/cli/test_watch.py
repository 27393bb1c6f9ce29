"""``agentkeep tasks watch``: live rendering, the exit code by final status, and resuming
across a server restart with ``Last-Event-ID``."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_commands import make_task, register
from tests.conftest import start_server, stop_server


def read_event(watch: subprocess.Popen[str]) -> dict[str, Any]:
    """The next NDJSON line ``watch --json`` printed."""
    assert watch.stdout is not None
    line = watch.stdout.readline()
    assert line, f"watch ended early: {watch.stderr.read() if watch.stderr else ''}"
    return dict(json.loads(line))


def finish(watch: subprocess.Popen[str]) -> tuple[int, list[dict[str, Any]], str]:
    out, err = watch.communicate(timeout=60)
    return watch.returncode, [json.loads(line) for line in out.splitlines()], err


def post_message(cli: Cli, task_id: str, text: str) -> None:
    content = {"type": "text", "author": "agent", "content": text}
    with cli.http() as http:
        r = http.post("/messages", json={"task_id": task_id, "content": content})
    assert r.status_code == 200, r.text


def test_watch_renders_messages_and_exits_by_final_status(cli: Cli) -> None:
    task = make_task(cli, register(cli))
    watch = cli.popen("tasks", "watch", task["id"], "--json")
    assert read_event(watch)["type"] == "connected"
    with cli.http() as http:
        assert "agentkeep_sse_viewers 1.0" in http.get("/metrics").text
    post_message(cli, task["id"], "working on it")
    with cli.http() as http:
        assert http.post(f"/tasks/{task['id']}/fail", json={"reason": "broke"}).status_code == 200
    code, events, _ = finish(watch)
    assert code == 10  # FAILED
    texts = [e["content"]["content"] for e in events if e["type"] in ("start", "full")]
    assert "working on it" in texts
    updates = [e["task"] for e in events if e["type"] == "task_updated"]
    assert [(u["status"], u["status_reason"]) for u in updates] == [("FAILED", "broke")]


def test_watch_for_people_prints_tokens_and_status(cli: Cli) -> None:
    task = make_task(cli, register(cli))
    watch = cli.popen("tasks", "watch", task["id"])
    assert watch.stderr is not None
    assert "watching task" in watch.stderr.readline()
    post_message(cli, task["id"], "almost there")
    with cli.http() as http:
        http.post(f"/tasks/{task['id']}/complete", json={"reason": "all good"})
    out, _ = watch.communicate(timeout=60)
    assert watch.returncode == 0
    assert "agent: almost there" in out
    assert "COMPLETED" in out and "all good" in out


def test_watch_of_a_finished_task_shows_it_and_exits(cli: Cli) -> None:
    task = make_task(cli, register(cli))
    cli.json("tasks", "timeout", task["id"])
    result = cli.run("tasks", "watch", task["id"], "--json")
    assert result.returncode == 13  # TIMED_OUT
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["task"]["status"] == "TIMED_OUT"


# PostgreSQL runs with Redis: only Redis keeps what was missed across a restart. The
# in-process bus does not outlive it; there a resume is answered with a reset (the task as
# it is), tested in tests/reliability.
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_watch_resumes_across_a_server_restart(cli: Cli, tmp_path: Any) -> None:
    assert "AGENTKEEP_REDIS_URL" in cli.env
    task = make_task(cli, register(cli))
    watch = cli.popen("tasks", "watch", task["id"], "--json")
    assert read_event(watch)["type"] == "connected"
    post_message(cli, task["id"], "before the restart")
    assert read_event(watch)["type"] in ("start", "full")

    port = int(cli.server.url.rsplit(":", 1)[1])
    stop_server(cli.server)
    cli.server = start_server(cli.env, tmp_path / "second.log", cwd=tmp_path, port=port)
    # Made right after the restart, most likely before the watcher is back: it must arrive
    # all the same, once, through the resume cursor.
    post_message(cli, task["id"], "after the restart")
    with cli.http() as http:
        assert http.post(f"/tasks/{task['id']}/complete").status_code == 200
    code, events, err = finish(watch)
    assert code == 0, err
    assert "reconnecting" in err
    texts = [e["content"]["content"] for e in events if e["type"] == "full"]
    assert texts.count("after the restart") == 1
    assert "before the restart" not in texts
    finals = [e for e in events if e["type"] == "task_updated"]
    # The watch ends on the completion, and never shows a version twice or going back. (On
    # the in-process bus the restart lost the stream: the resume is answered with a reset
    # carrying the task as it is then, which may still be RUNNING.)
    assert finals[-1]["task"]["status"] == "COMPLETED"
    versions = [f["task"]["version"] for f in finals]
    assert versions == sorted(set(versions))
