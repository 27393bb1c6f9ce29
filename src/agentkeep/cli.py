"""The ``agentkeep`` command. The only module that reads the environment (``Settings()``).

Server commands (``serve``, ``migrate``, ``example-agent``) live here; the operator commands
that talk to a running server live in ``agentkeep.cli_ops``. Nothing of the server stack
(FastAPI, SQLAlchemy, uvicorn) is imported at module level: ``agentkeep --help`` and the
operator commands start without it.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from agentkeep import cli_ops

if TYPE_CHECKING:
    from fastapi import FastAPI

    from agentkeep.settings import Settings

cli = typer.Typer(
    help="agentkeep: an agent task server speaking the Agentex contract.",
    no_args_is_help=True,
    add_completion=False,
)
# soft_wrap: one-line errors stay one line whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"agentkeep {version('agentkeep')}")
        raise typer.Exit()


@cli.callback()
def _root(
    _show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """agentkeep: an agent task server speaking the Agentex contract."""


def load_settings() -> Settings:
    from pydantic import ValidationError

    from agentkeep.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "AGENTKEEP_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        err.print(f"[red]error:[/red] {field}: {first['msg']}")
        raise typer.Exit(2) from None


def _migrate(settings: Settings) -> None:
    from agentkeep import preflight

    with err.status(f"Applying migrations to {_redacted(settings.database_url)} …"):
        try:
            pending = preflight.migrate(settings.database_url)
        except preflight.Refused as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    err.print(f"migrations: {len(pending)} applied" if pending else "migrations: up to date")


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    return f"{scheme}{sep}{creds.split(':')[0]}:***@{host}" if at and ":" in creds else url


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 5003).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes (needs Redis above 1).")
    ] = 1,
) -> None:
    """Apply pending migrations, then serve the API."""
    import uvicorn

    from agentkeep import preflight

    settings = load_settings()
    if workers > 1 and not settings.redis_url:
        err.print(
            "[red]error:[/red] --workers above 1 needs AGENTKEEP_REDIS_URL "
            "(the in-process bus cannot be shared between processes)."
        )
        raise typer.Exit(2)
    bind_host, bind_port = host or settings.host, port or settings.port
    try:
        # Before migrations: a second server on a busy port or on a database another
        # in-process-bus server owns must fail at once, having changed nothing.
        preflight.check_port(bind_host, bind_port)
        lock = preflight.claim_database(settings)
    except preflight.Refused as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    _migrate(settings)
    from agentkeep import serving

    # Open-file limit raised and logged; viewers capped to what it allows (serving.py).
    settings, cap, notes = serving.prepare(settings)
    for note in notes:
        err.print(note)
    options = serving.uvicorn_options(settings, cap)
    if workers > 1:
        preflight.prepare_multiprocess_metrics()
    if workers == 1:
        from agentkeep.app import create_app

        app = serving.settle_heap_after_startup(create_app(settings))
        uvicorn.run(app, host=bind_host, port=bind_port, **options)
    else:
        # Workers build their settings from the environment: hand them the cap.
        os.environ["AGENTKEEP_MAX_VIEWERS"] = str(settings.max_viewers)
        uvicorn.run(
            "agentkeep.cli:worker_app",
            factory=True,
            host=bind_host,
            port=bind_port,
            workers=workers,
            **options,
        )
    if lock is not None:
        lock.close()


def worker_app() -> FastAPI:
    """The app factory each worker process calls (migrations already ran in the parent)."""
    from agentkeep import serving
    from agentkeep.app import create_app
    from agentkeep.settings import Settings

    return serving.settle_heap_after_startup(create_app(Settings()))


@cli.command()
def migrate() -> None:
    """Apply pending database migrations and exit."""
    _migrate(load_settings())


class AgentType(StrEnum):
    sync = "sync"
    async_ = "async"


@cli.command("example-agent")
def example_agent(
    name: Annotated[str, typer.Option(help="Agent name (lowercase letters, digits, -).")],
    agent_type: Annotated[
        AgentType, typer.Option("--type", help="sync (echo) or async (greeter).")
    ] = AgentType.sync,
    server: Annotated[
        str, typer.Option(envvar="AGENTKEEP_SERVER", help="The agentkeep server.")
    ] = "http://127.0.0.1:5003",
    port: Annotated[int, typer.Option(help="Port the agent listens on.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface the agent binds and registers.")] = (
        "127.0.0.1"
    ),
    api_key: Annotated[
        str | None,
        typer.Option(envvar="AGENT_API_KEY", help="Key to register with (servers with auth)."),
    ] = None,
    wait: Annotated[
        float, typer.Option(help="How long to wait for the server to come up (seconds).")
    ] = 60.0,
) -> None:
    """Run an example ACP agent that registers itself with the server."""
    import asyncio

    from agentkeep.examples import base, echo, greeter

    module = echo if agent_type is AgentType.sync else greeter
    try:
        asyncio.run(base.serve(module.build(server, name), host, port, api_key, wait=wait))
    except base.AgentStartError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


cli_ops.register(cli)


def main() -> None:
    cli()
