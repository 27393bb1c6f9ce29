"""``agentkeep tasks list|show|watch`` and the transitions (``complete``, ``fail``, …)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from agentkeep.cli_ops import render, stream
from agentkeep.cli_ops.conn import (
    DEFAULT_SERVER,
    ApiKeyOpt,
    Conn,
    JsonOpt,
    ServerOpt,
    command,
    out,
    print_json,
    task_path,
)
from agentkeep.domain.status import VERBS, TaskStatus

app = typer.Typer(help="Tasks: list, inspect, watch live, and end them.", no_args_is_help=True)

TaskArg = Annotated[str, typer.Argument(help="Task id or name.")]


@app.command("list")
def list_tasks(
    agent: Annotated[str | None, typer.Option(help="Only this agent's tasks (name).")] = None,
    status: Annotated[TaskStatus | None, typer.Option(help="Only tasks in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    json: JsonOpt = False,
) -> None:
    """List tasks, most recently active first."""
    params: dict[str, Any] = {"limit": limit}
    if agent:
        params["agent_name"] = agent
    if status:
        params["status"] = status.value
    with command():
        tasks = Conn(server, api_key, json).request("GET", "/tasks", params=params)
        if json:
            print_json(tasks)
        else:
            render.tasks_table(tasks)


@app.command()
def show(
    task: TaskArg,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show a task and its status history (who changed what, when, why)."""
    with command():
        conn = Conn(server, api_key, json)
        found = conn.request("GET", task_path(task))
        history = conn.request("GET", f"/tasks/{found['id']}/history")
        if json:
            print_json({**found, "history": history})
        else:
            render.task_page(found, history)


@app.command()
def watch(
    task: TaskArg,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    json: JsonOpt = False,
    reconnect_for: Annotated[
        float, typer.Option(help="Keep trying this long after the connection drops (seconds).")
    ] = 60.0,
) -> None:
    """Follow a task live until it ends; the exit code tells how it ended (see README)."""
    with command():
        conn = Conn(server, api_key, json)
        found = conn.request("GET", task_path(task))
        follower = stream.Follower(conn, found["id"], reconnect_for=reconnect_for)
        final = follower.run()
        raise typer.Exit(stream.exit_code(final))


def _transition(verb: str, target: TaskStatus) -> Callable[..., None]:
    def run(
        task: TaskArg,
        reason: Annotated[str | None, typer.Option(help="Why (recorded in the history).")] = None,
        if_version: Annotated[
            int | None, typer.Option(help="Only if the task is still at this version.")
        ] = None,
        server: ServerOpt = DEFAULT_SERVER,
        api_key: ApiKeyOpt = None,
        json: JsonOpt = False,
    ) -> None:
        with command():
            headers = {"if-match": f'"{if_version}"'} if if_version is not None else {}
            body = {"reason": reason} if reason else None
            changed = Conn(server, api_key, json).request(
                "POST", f"{task_path(task)}/{verb}", json=body, headers=headers
            )
            if json:
                print_json(changed)
            else:
                out.print(
                    f"task {changed['id']} is now {render.badge(changed['status'])} "
                    f"(version {changed['version']})"
                )

    run.__doc__ = f"Move a task to {target.value}, with an optional reason."
    return run


for _verb, (_target, _) in VERBS.items():
    app.command(_verb)(_transition(_verb, _target))
