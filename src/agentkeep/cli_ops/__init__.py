"""Operator commands: ``agentkeep agents …``, ``tasks …``, ``schedules …`` and ``send``,
against a running server over its public HTTP API (``--server``, ``--api-key``).

Only Typer, Rich and (when a command runs) httpx are imported here: never the server stack,
so ``agentkeep --help`` and these commands start fast.
"""

from __future__ import annotations

import typer

from agentkeep.cli_ops import agents, schedules, send, tasks
from agentkeep.cli_ops.conn import operator_command


def register(cli: typer.Typer) -> None:
    cli.add_typer(agents.app, name="agents")
    cli.add_typer(tasks.app, name="tasks")
    cli.add_typer(schedules.app, name="schedules")
    operator_command(cli, "send")(send.send)
