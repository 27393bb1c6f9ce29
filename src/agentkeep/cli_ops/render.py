"""How the operator commands look to people: tables, status colours, a task's page."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from agentkeep.cli_ops.conn import out
from agentkeep.domain.status import TERMINAL, TaskStatus

#: Status colours: green done, red failed, yellow stopped by someone, blue still going.
COLOURS = {
    TaskStatus.RUNNING: "blue",
    TaskStatus.INTERRUPTED: "cyan",
    TaskStatus.COMPLETED: "green",
    TaskStatus.FAILED: "red",
    TaskStatus.CANCELED: "yellow",
    TaskStatus.TERMINATED: "yellow",
    TaskStatus.TIMED_OUT: "magenta",
    TaskStatus.DELETED: "dim",
}


def known(status: Any) -> TaskStatus | None:
    """The status named ``status``, or None for a value this CLI does not know."""
    try:
        return TaskStatus(str(status))
    except ValueError:
        return None


def badge(status: Any) -> str:
    colour = COLOURS.get(known(status), "white")  # type: ignore[arg-type]
    return f"[{colour}]{escape(str(status))}[/{colour}]"


def is_terminal(status: Any) -> bool:
    return known(status) in TERMINAL


def when(value: Any) -> str:
    """A wire timestamp, shortened to the second."""
    return str(value or "")[:19].replace("T", " ")


def agents_table(agents: list[dict[str, Any]]) -> None:
    table = Table("name", "type", "status", box=None)
    table.add_column("id", no_wrap=True, min_width=36)
    table.add_column("description")
    for a in agents:
        table.add_row(
            escape(str(a.get("name", ""))),
            str(a.get("acp_type", "")),
            str(a.get("status", "")),
            str(a.get("id", "")),
            escape(str(a.get("description") or "")),
        )
    out.print(table)


def agent_page(agent: dict[str, Any]) -> None:
    for key in ("name", "id", "acp_type", "status", "description", "created_at"):
        if agent.get(key) is not None:
            out.print(f"[bold]{key:>12}[/bold]  {escape(str(agent[key]))}")


def tasks_table(tasks: list[dict[str, Any]]) -> None:
    table = Table(box=None)
    table.add_column("id", no_wrap=True, min_width=36)
    for name in ("name", "status", "version", "updated", "reason"):
        table.add_column(name)
    for t in tasks:
        table.add_row(
            str(t.get("id", "")),
            escape(str(t.get("name") or "")),
            badge(t.get("status")),
            str(t.get("version", "")),
            when(t.get("updated_at")),
            escape(str(t.get("status_reason") or "")),
        )
    out.print(table)


def task_page(task: dict[str, Any]) -> None:
    """A task with its status history (``history``, as ``GET /tasks/{id}/history``)."""
    out.print(f"[bold]task[/bold] {task['id']}  {badge(task.get('status'))}")
    for key in ("name", "version", "status_reason", "created_at", "updated_at", "deadline_at"):
        if task.get(key) is not None:
            out.print(f"[bold]{key:>14}[/bold]  {escape(str(task[key]))}")
    if task.get("task_metadata"):
        out.print(f"[bold]{'task_metadata':>14}[/bold]  {escape(str(task['task_metadata']))}")
    table = Table("#", "when", "from", "to", "actor", "reason", box=None, title="history")
    for h in task["history"]:
        table.add_row(
            str(h.get("seq", "")),
            when(h.get("created_at")),
            badge(h["from_status"]) if h.get("from_status") else "",
            badge(h.get("to_status")),
            escape(str(h.get("actor") or "")),
            escape(str(h.get("reason") or "")),
        )
    out.print(table)
