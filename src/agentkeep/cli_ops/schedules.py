"""``agentkeep schedules list|pause|resume|trigger`` (routes under ``/agents/{id}/schedules``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agentkeep.cli_ops import render
from agentkeep.cli_ops.conn import UUID, Conn, agent_path, operator_command, out

app = typer.Typer(
    help="An agent's run schedules: list, pause, resume, run now.", no_args_is_help=True
)

AgentArg = Annotated[str, typer.Argument(help="Agent id or name.")]
ScheduleArg = Annotated[str, typer.Argument(help="Schedule id or name.")]


def schedules_path(conn: Conn, agent: str) -> str:
    """``/agents/{id}/schedules``: the routes take the agent's id, so a name is looked up."""
    agent_id = agent if UUID.match(agent) else conn.request("GET", agent_path(agent))["id"]
    return f"/agents/{agent_id}/schedules"


def schedule_path(conn: Conn, agent: str, ref: str) -> str:
    """One schedule, by id or (anything not shaped like an id) by name, as tasks do."""
    base = schedules_path(conn, agent)
    return f"{base}/{ref}" if UUID.match(ref) else f"{base}/name/{ref}"


def cadence(s: dict[str, Any]) -> str:
    if s.get("cron_expression"):
        return f"cron {s['cron_expression']} ({s.get('timezone') or 'UTC'})"
    return f"every {s.get('interval_seconds')}s"


def schedules_table(schedules: list[dict[str, Any]]) -> None:
    table = Table("name", "cadence", "paused", "next", "last", "runs", box=None)
    table.add_column("id", no_wrap=True, min_width=36)
    for s in schedules:
        upcoming = s.get("next_action_times") or []
        table.add_row(
            escape(str(s.get("name", ""))),
            escape(cadence(s)),
            "[yellow]paused[/yellow]" if s.get("paused") else "no",
            render.when(upcoming[0] if upcoming else None),
            render.when(s.get("last_action_time")),
            str(s.get("num_actions_taken", 0)),
            str(s.get("id", "")),
        )
    out.print(table)


@operator_command(app, "list")
def list_schedules(conn: Conn, agent: AgentArg) -> None:
    """List an agent's schedules with their next and last run."""
    params = {"limit": 1000, "include_live": "true"}
    conn.run(
        lambda: conn.request("GET", schedules_path(conn, agent), params=params),
        lambda found: schedules_table(found["run_schedules"]),
    )


def _action(verb: str, done: str, doc: str) -> None:
    @operator_command(app, verb, doc=doc)
    def run(conn: Conn, agent: AgentArg, schedule: ScheduleArg) -> None:
        conn.run(
            lambda: conn.request("POST", f"{schedule_path(conn, agent, schedule)}/{verb}"),
            lambda changed: out.print(
                f"schedule {escape(str(changed['name']))} {done} ({changed['state']})"
            ),
        )


for _verb, _done, _doc in (
    ("pause", "paused", "Pause a schedule: it stops firing until resumed."),
    ("resume", "resumed", "Resume a paused schedule (the paused times are not caught up)."),
    ("trigger", "triggered", "Run a schedule now, also while paused."),
):
    _action(_verb, _done, _doc)
