"""``agentkeep schedules …`` against a real server process, output parsed as JSON."""

from __future__ import annotations

from typing import Any

from agentkeep.domain.fires import TriggerType
from tests.cli.conftest import Cli, one_line
from tests.cli.test_commands import register

# Once a year, so no fire of its own lands while the test runs.
YEARLY = {"cron_expression": "0 9 1 1 *", "timezone": "Europe/Paris"}


def create(cli: Cli, agent_id: str, name: str, **cadence: Any) -> dict[str, Any]:
    body = {"name": name, "initial_input": {"content": "tick"}, **cadence}
    with cli.http() as http:
        r = http.post(f"/agents/{agent_id}/schedules", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def agent_id(cli: Cli, name: str) -> str:
    with cli.http() as http:
        return str(http.get(f"/agents/name/{name}").json()["id"])


def by_name(cli: Cli, agent: str) -> dict[str, dict[str, Any]]:
    listed = cli.json("schedules", "list", agent)
    assert listed["total"] == len(listed["run_schedules"])
    return {s["name"]: s for s in listed["run_schedules"]}


def test_list_pause_resume_by_name_and_id(cli: Cli) -> None:
    agent = register(cli)
    aid = agent_id(cli, agent)
    yearly = create(cli, aid, "yearly", **YEARLY)
    create(cli, aid, "hourly", interval_seconds=3600)

    listed = by_name(cli, agent)
    assert set(listed) == {"yearly", "hourly"}
    assert listed["yearly"]["next_action_times"][0].startswith(
        f"{int(yearly['created_at'][:4]) + 1}-01-01T08:00:00"
    )
    assert (listed["yearly"]["paused"], listed["yearly"]["num_actions_taken"]) == (False, 0)
    assert by_name(cli, aid) == listed  # the agent by id lists the same

    paused = cli.json("schedules", "pause", agent, "yearly")
    assert (paused["id"], paused["paused"]) == (yearly["id"], True)
    assert by_name(cli, agent)["yearly"]["paused"] is True
    assert by_name(cli, agent)["hourly"]["paused"] is False

    resumed = cli.json("schedules", "resume", aid, yearly["id"])  # both by id
    assert resumed["paused"] is False
    assert by_name(cli, agent)["yearly"]["paused"] is False


def test_trigger_records_a_manual_fire(cli: Cli) -> None:
    agent = register(cli)
    aid = agent_id(cli, agent)
    yearly = create(cli, aid, "yearly", **YEARLY)
    cli.json("schedules", "pause", agent, "yearly")

    triggered = cli.json("schedules", "trigger", agent, "yearly")  # also while paused
    assert triggered["id"] == yearly["id"]
    with cli.http() as http:
        fires = http.get(f"/agents/{aid}/schedules/{yearly['id']}/fires").json()
    assert [f["trigger_type"] for f in fires] == [TriggerType.MANUAL.value]
    assert fires[0]["schedule_id"] == yearly["id"]


def test_tables_for_people(cli: Cli) -> None:
    agent = register(cli)
    aid = agent_id(cli, agent)
    create(cli, aid, "yearly", **YEARLY)
    create(cli, aid, "hourly", interval_seconds=3600)
    cli.json("schedules", "pause", agent, "hourly")

    shown = cli.run("schedules", "list", agent, env={"COLUMNS": "200"})  # a wide terminal
    assert shown.returncode == 0, shown.stderr
    lines = {line.split()[0]: line for line in shown.stdout.splitlines() if line.strip()}
    assert "cron 0 9 1 1 * (Europe/Paris)" in lines["yearly"]
    assert "every 3600s" in lines["hourly"]
    assert "paused" in lines["hourly"]
    assert "paused" not in lines["yearly"]

    said = cli.run("schedules", "resume", agent, "hourly")
    assert said.returncode == 0, said.stderr
    assert said.stdout.strip() == "schedule hourly resumed (ACTIVE)"


def test_unknown_schedule_or_agent_is_one_line_and_exit_4(cli: Cli) -> None:
    agent = register(cli)
    for verb in ("pause", "resume", "trigger"):
        missing = cli.run("schedules", verb, agent, "no-such-schedule")
        assert missing.returncode == 4
        assert "no-such-schedule" in one_line(missing.stderr)
    by_id = cli.run("schedules", "pause", agent, "00000000-0000-4000-8000-000000000000")
    assert by_id.returncode == 4
    assert "00000000-0000-4000-8000-000000000000" in one_line(by_id.stderr)
    no_agent = cli.run("schedules", "list", "no-such-agent")
    assert no_agent.returncode == 4
    assert "no-such-agent" in one_line(no_agent.stderr)


def test_unreachable_server_is_exit_3(cli: Cli) -> None:
    down = cli.run("schedules", "list", "any", env={"AGENTKEEP_SERVER": "http://127.0.0.1:9"})
    assert down.returncode == 3
    assert "cannot reach" in one_line(down.stderr)
