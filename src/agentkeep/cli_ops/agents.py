"""``agentkeep agents list|show|delete``."""

from __future__ import annotations

from typing import Annotated

import typer

from agentkeep.cli_ops import render
from agentkeep.cli_ops.conn import Conn, agent_path, operator_command, out

app = typer.Typer(help="Registered agents.", no_args_is_help=True)

AgentArg = Annotated[str, typer.Argument(help="Agent id or name.")]


@operator_command(app, "list")
def list_agents(conn: Conn) -> None:
    """List the registered agents."""
    conn.run(lambda: conn.request("GET", "/agents", params={"limit": 1000}), render.agents_table)


@operator_command(app)
def show(conn: Conn, agent: AgentArg) -> None:
    """Show one agent."""
    conn.run(lambda: conn.request("GET", agent_path(agent)), render.agent_page)


@operator_command(app)
def delete(conn: Conn, agent: AgentArg) -> None:
    """Delete an agent (its tasks stay readable)."""
    conn.run(
        lambda: conn.request("DELETE", agent_path(agent)),
        lambda _: out.print(f"deleted agent {agent}"),
    )
