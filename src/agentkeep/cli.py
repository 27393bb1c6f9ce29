"""The ``agentkeep`` command. The only module that reads the environment (``Settings()``)."""

from __future__ import annotations

import asyncio
import copy
from enum import StrEnum
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from rich.console import Console

from agentkeep import migrate as migrate_mod
from agentkeep import slowclients
from agentkeep.app import create_app
from agentkeep.settings import Settings

cli = typer.Typer(
    help="agentkeep: an agent task server speaking the Agentex contract.",
    no_args_is_help=True,
    add_completion=False,
)
# soft_wrap: one-line errors stay one line whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "AGENTKEEP_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        err.print(f"[red]error:[/red] {field}: {first['msg']}")
        raise typer.Exit(2) from None


def _migrate(settings: Settings) -> None:
    with err.status(f"Applying migrations to {_redacted(settings.database_url)} …"):
        try:
            pending = migrate_mod.upgrade_sync(settings.database_url)
        except OSError as exc:
            err.print(
                f"[red]error:[/red] cannot reach the database: {exc}. "
                "Check AGENTKEEP_DATABASE_URL and that the server is running."
            )
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
    settings = load_settings()
    if workers > 1 and not settings.redis_url:
        err.print(
            "[red]error:[/red] --workers above 1 needs AGENTKEEP_REDIS_URL "
            "(the in-process bus cannot be shared between processes)."
        )
        raise typer.Exit(2)
    _migrate(settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    if workers == 1:
        uvicorn.run(
            create_app(settings), host=bind_host, port=bind_port, **_uvicorn_options(settings)
        )
    else:
        uvicorn.run(
            "agentkeep.cli:worker_app",
            factory=True,
            host=bind_host,
            port=bind_port,
            workers=workers,
            **_uvicorn_options(settings),
        )


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    # agentkeep's own loggers (a line per schedule fire, relay and sweeper warnings) write
    # through uvicorn's handler, at the same level.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["agentkeep"] = {
        "handlers": ["default"],
        "level": settings.log_level.upper(),
        "propagate": False,
    }
    return {
        "log_level": settings.log_level,
        "log_config": log_config,
        "access_log": False,
        # Open SSE streams never end on their own: without a bound, a restart with viewers
        # connected would wait forever. Viewers reconnect (and resume) elsewhere.
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
        # Slow or idle clients must not hold connections: see ``slowclients`` and README.
        "http": slowclients.HeaderDeadlineProtocol,
        "timeout_keep_alive": settings.keepalive_timeout_seconds,
        "limit_concurrency": settings.max_connections,
    }


def worker_app() -> FastAPI:
    """The app factory each worker process calls (migrations already ran in the parent)."""
    return create_app(Settings())


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
    server: Annotated[str, typer.Option(help="The agentkeep server.")] = "http://127.0.0.1:5003",
    port: Annotated[int, typer.Option(help="Port the agent listens on.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface the agent binds and registers.")] = (
        "127.0.0.1"
    ),
    api_key: Annotated[
        str | None,
        typer.Option(envvar="AGENT_API_KEY", help="Key to register with (servers with auth)."),
    ] = None,
) -> None:
    """Run an example ACP agent that registers itself with the server."""
    from agentkeep.examples import base, echo, greeter

    module = echo if agent_type is AgentType.sync else greeter
    asyncio.run(base.serve(module.build(server, name), host, port, api_key))


def main() -> None:
    cli()
