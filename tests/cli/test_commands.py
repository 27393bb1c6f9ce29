"""``agents``, ``tasks`` and ``send`` as an operator runs them, output parsed as JSON."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from agentkeep.domain.status import VERBS
from tests.cli.conftest import Cli, one_line
from tests.conftest import free_port, start_server, stop_server


def register(cli: Cli) -> str:
    """A sync agent registered over HTTP (task/create does not call sync agents)."""
    name = f"reg-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "acp_url": "http://127.0.0.1:9", "acp_type": "sync"}
    with cli.http() as http:
        assert http.post("/agents/register", json=body).status_code == 200
    return name


def make_task(cli: Cli, agent: str, **params: Any) -> dict[str, Any]:
    with cli.http() as http:
        r = http.post(
            f"/agents/name/{agent}/rpc",
            json={"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": params},
        )
    assert r.json()["error"] is None, r.text
    return dict(r.json()["result"])


def test_send_to_a_sync_agent_then_inspect_and_complete(cli: Cli, agents: Any) -> None:
    echo = agents("sync")
    listed = cli.json("agents", "list")
    assert echo in [a["name"] for a in listed]
    assert cli.json("agents", "show", echo)["acp_type"] == "sync"

    sent = cli.json("send", echo, "hello there", "--task", "tour")
    assert sent["reply"] == "hello there"
    assert sent["task"]["name"] == "tour"
    again = cli.json("send", echo, "once more", "--task", "tour")  # the name is reused
    assert again["task"]["id"] == sent["task"]["id"]

    assert [t["name"] for t in cli.json("tasks", "list", "--agent", echo)] == ["tour"]
    shown = cli.json("tasks", "show", "tour")
    assert shown["history"][0]["to_status"] == "RUNNING"

    stale = cli.run("tasks", "complete", "tour", "--if-version", str(shown["version"] + 5))
    assert stale.returncode == 1
    assert "412" in one_line(stale.stderr)
    done = cli.json(
        "tasks", "complete", "tour", "--reason", "tour done", "--if-version", str(shown["version"])
    )
    assert (done["status"], done["status_reason"]) == ("COMPLETED", "tour done")
    refused = cli.run("tasks", "complete", shown["id"])
    assert refused.returncode == 1
    assert "COMPLETED" in one_line(refused.stderr)
    history = cli.json("tasks", "show", shown["id"])["history"]
    assert [h["to_status"] for h in history] == ["RUNNING", "COMPLETED"]
    assert history[-1]["reason"] == "tour done"


def test_send_to_an_async_agent_shows_its_reply(cli: Cli, agents: Any) -> None:
    greeter = agents("async")
    sent = cli.json("send", greeter, "hi there")
    assert "You said: hi there" in sent["reply"]
    people = cli.run("send", greeter, "and again")
    assert people.returncode == 0, people.stderr
    assert "You said: and again" in people.stdout


def test_every_transition_verb(cli: Cli) -> None:
    agent = register(cli)
    for verb, (target, _) in VERBS.items():
        task = make_task(cli, agent)
        changed = cli.json("tasks", verb, task["id"], "--reason", f"by {verb}")
        assert (changed["status"], changed["status_reason"]) == (target.value, f"by {verb}")


def test_lists_filter_and_limit(cli: Cli) -> None:
    echo = register(cli)
    tasks = [make_task(cli, echo) for _ in range(3)]
    cli.json("tasks", "cancel", tasks[0]["id"])
    canceled = cli.json("tasks", "list", "--agent", echo, "--status", "CANCELED")
    assert [t["id"] for t in canceled] == [tasks[0]["id"]]
    assert len(cli.json("tasks", "list", "--agent", echo, "--limit", "2")) == 2
    people = cli.run("tasks", "list", "--agent", echo)
    assert people.returncode == 0 and tasks[1]["id"] in people.stdout


def test_delete_an_agent_then_it_is_not_found(cli: Cli) -> None:
    echo = register(cli)
    cli.json("agents", "delete", echo)
    missing = cli.run("agents", "show", echo)
    assert missing.returncode == 4
    assert echo in one_line(missing.stderr)


def test_errors_are_one_line_with_the_servers_message(cli: Cli) -> None:
    unknown = cli.run("tasks", "show", "no-such-task")
    assert unknown.returncode == 4
    assert "Item with name 'no-such-task' does not exist." in one_line(unknown.stderr)
    bad = cli.run("tasks", "list", "--limit", "5000")
    assert bad.returncode == 2  # refused by the CLI itself, before any request
    nowhere = cli.run("agents", "list", "--server", f"http://127.0.0.1:{free_port()}")
    assert nowhere.returncode == 3
    assert "cannot reach the agentkeep server" in one_line(nowhere.stderr)


def test_api_key_is_sent_and_its_absence_explained(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    key = "ops-key-0123456789"
    env = {**server_env, "AGENTKEEP_API_KEYS": f"ops:{key}"}
    server = start_server(env, tmp_path / "s.log", cwd=tmp_path)
    try:
        cli = Cli(server, {})
        without = cli.run("agents", "list")
        assert without.returncode == 1
        assert "--api-key" in one_line(without.stderr)
        assert cli.run("agents", "list", "--json", "--api-key", key).stdout.strip() == "[]"
        assert cli.run("agents", "list", "--json", env={"AGENTKEEP_API_KEY": key}).returncode == 0
    finally:
        stop_server(server)


def test_version_and_help_without_the_server_stack() -> None:
    probe = (
        "import sys\n"
        "from agentkeep import cli\n"
        "sys.argv = ['agentkeep', '--help']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'fastapi', 'starlette', 'sqlalchemy', 'uvicorn', 'alembic', 'asyncpg', 'redis'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert "tasks" in result.stdout and "send" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
    version = subprocess.run(
        [sys.executable, "-m", "agentkeep", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and version.stdout.startswith("agentkeep ")
