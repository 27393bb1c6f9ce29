"""``agentkeep agents list|show|delete``."""

from __future__ import annotations

from typing import Annotated

import typer

from agentkeep.cli_ops import render
from agentkeep.cli_ops.conn import (
    DEFAULT_SERVER,
    ApiKeyOpt,
    Conn,
    JsonOpt,
    ServerOpt,
    agent_path,
    command,
    out,
    print_json,
)

app = typer.Typer(help="Registered agents.", no_args_is_help=True)

AgentArg = Annotated[str, typer.Argument(help="Agent id or name.")]


@app.command("list")
def list_agents(
    server: ServerOpt = DEFAULT_SERVER, api_key: ApiKeyOpt = None, json: JsonOpt = False
) -> None:
    """List the registered agents."""
    with command():
        agents = Conn(server, api_key, json).request("GET", "/agents", params={"limit": 1000})
        if json:
            print_json(agents)
        else:
            render.agents_table(agents)


@app.command()
def show(
    agent: AgentArg,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show one agent."""
    with command():
        found = Conn(server, api_key, json).request("GET", agent_path(agent))
        if json:
            print_json(found)
        else:
            render.agent_page(found)


@app.command()
def delete(
    agent: AgentArg,
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    json: JsonOpt = False,
) -> None:
    """Delete an agent (its tasks stay readable)."""
    with command():
        answer = Conn(server, api_key, json).request("DELETE", agent_path(agent))
        if json:
            print_json(answer)
        else:
            out.print(f"deleted agent {agent}")
