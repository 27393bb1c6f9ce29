"""``agentkeep tasks list|show|watch`` and the transitions (``complete``, ``fail``, …)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agentkeep.cli_ops import render, stream
from agentkeep.cli_ops.conn import Conn, command, operator_command, out, task_path
from agentkeep.domain.status import VERBS, TaskStatus

app = typer.Typer(help="Tasks: list, inspect, watch live, and end them.", no_args_is_help=True)

TaskArg = Annotated[str, typer.Argument(help="Task id or name.")]


@operator_command(app, "list")
def list_tasks(
    conn: Conn,
    agent: Annotated[str | None, typer.Option(help="Only this agent's tasks (name).")] = None,
    status: Annotated[TaskStatus | None, typer.Option(help="Only tasks in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
) -> None:
    """List tasks, most recently active first."""
    params: dict[str, Any] = {"limit": limit}
    if agent:
        params["agent_name"] = agent
    if status:
        params["status"] = status.value
    conn.run(lambda: conn.request("GET", "/tasks", params=params), render.tasks_table)


@operator_command(app)
def show(conn: Conn, task: TaskArg) -> None:
    """Show a task and its status history (who changed what, when, why)."""

    def fetch() -> dict[str, Any]:
        found = conn.request("GET", task_path(task))
        return {**found, "history": conn.request("GET", f"/tasks/{found['id']}/history")}

    conn.run(fetch, render.task_page)


@operator_command(app)
def watch(
    conn: Conn,
    task: TaskArg,
    reconnect_for: Annotated[
        float, typer.Option(help="Keep trying this long after the connection drops (seconds).")
    ] = 60.0,
) -> None:
    """Follow a task live until it ends; the exit code tells how it ended (see README)."""
    with command():
        found = conn.request("GET", task_path(task))
        follower = stream.Follower(conn, found["id"], reconnect_for=reconnect_for)
        final = follower.run()
        raise typer.Exit(stream.exit_code(final))


def _transition(verb: str, target: TaskStatus) -> None:
    @operator_command(app, verb, doc=f"Move a task to {target.value}, with an optional reason.")
    def run(
        conn: Conn,
        task: TaskArg,
        reason: Annotated[str | None, typer.Option(help="Why (recorded in the history).")] = None,
        if_version: Annotated[
            int | None, typer.Option(help="Only if the task is still at this version.")
        ] = None,
    ) -> None:
        headers = {"if-match": f'"{if_version}"'} if if_version is not None else {}
        body = {"reason": reason} if reason else None
        conn.run(
            lambda: conn.request("POST", f"{task_path(task)}/{verb}", json=body, headers=headers),
            lambda changed: out.print(
                f"task {changed['id']} is now {render.badge(changed['status'])} "
                f"(version {changed['version']})"
            ),
        )


for _verb, (_target, _) in VERBS.items():
    _transition(_verb, _target)
