"""Talking to a running server: options every operator command takes, requests, exit codes.

Every failure ends the command with one line on stderr — the server's own message when it
answered, what to check when it did not — and a documented exit code, never a traceback.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    import httpx

#: Exit codes (the README lists them).
OK = 0
REFUSED = 1  # the server answered with an error (message printed)
USAGE = 2  # bad options or arguments (click's own code)
UNREACHABLE = 3  # no answer from the server
NOT_FOUND = 4  # the agent, task or schedule does not exist
INTERRUPTED = 130  # Ctrl-C

DEFAULT_SERVER = "http://127.0.0.1:5003"
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

ServerOpt = Annotated[
    str,
    typer.Option("--server", envvar="AGENTKEEP_SERVER", help="The agentkeep server's URL."),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="AGENTKEEP_API_KEY", help="API key (servers with AGENTKEEP_API_KEYS)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead.")]

#: Those options as parameters: ``operator_command`` adds them to every command it registers.
_CONN_PARAMETERS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=option)
    for name, option, default in (
        ("server", ServerOpt, DEFAULT_SERVER),
        ("api_key", ApiKeyOpt, None),
        ("json", JsonOpt, False),
    )
]

# soft_wrap: a one-line error stays one line however narrow the terminal.
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


class Failed(Exception):
    """A command failed; ``message`` is printed on one line, ``code`` is the exit code."""

    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = REFUSED) -> NoReturn:
    raise Failed(message, code)


@contextmanager
def command() -> Iterator[None]:
    """Run a command body: failures and Ctrl-C become one line and an exit code."""
    try:
        yield
    except Failed as exc:
        err.print(f"[red]error:[/red] {exc}", markup=True)
        raise typer.Exit(exc.code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(INTERRUPTED) from None


def operator_command(
    app: typer.Typer, name: str | None = None, *, doc: str | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``f(conn, …)`` as ``app``'s command ``name``: its own arguments and options,
    then ``--server``, ``--api-key`` and ``--json``, which become ``conn``.

    Typer has no shared options below a command group's own (a group callback would move
    them before the command's name), so the three are added to the command's signature.
    """

    def register(f: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(f, eval_str=True)
        own = list(signature.parameters.values())[1:]

        @functools.wraps(f)
        def command_(*args: Any, server: str, api_key: str | None, json: bool, **kw: Any) -> None:
            f(Conn(server, api_key, json), *args, **kw)

        command_.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*own, *_CONN_PARAMETERS]
        )
        if doc is not None:
            command_.__doc__ = doc
        app.command(name)(command_)
        return f

    return register


@dataclass
class Conn:
    """One server, one key, one output mode."""

    server: str
    api_key: str | None = None
    json: bool = False
    _http: httpx.Client | None = field(default=None, repr=False)

    def http(self) -> httpx.Client:
        if self._http is None:
            import httpx

            headers = {"x-api-key": self.api_key} if self.api_key else {}
            self._http = httpx.Client(
                base_url=self.server.rstrip("/"),
                headers=headers,
                timeout=httpx.Timeout(30.0, connect=5.0),
            )
        return self._http

    def run(self, fetch: Callable[[], Any], human: Callable[[Any], None]) -> None:
        """A command's whole course: ``fetch``, then print what it returned, as JSON
        (``--json``) or through ``human``; a failure is one line on stderr and its exit
        code."""
        with command():
            found = fetch()
            if self.json:
                print_json(found)
            else:
                human(found)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and return its JSON body; any failure is ``Failed``."""
        with self.transport_errors():
            response = self.http().request(method, path, **kwargs)
        if response.status_code >= 400:
            raise_for(response)
        return response.json() if response.content else None

    @contextmanager
    def transport_errors(self) -> Iterator[None]:
        import httpx

        try:
            yield
        except httpx.TransportError as exc:
            fail(unreachable(self.server, exc), UNREACHABLE)


def unreachable(server: str, exc: BaseException | str) -> str:
    reason = (exc if isinstance(exc, str) else str(exc).strip()) or type(exc).__name__
    return (
        f"cannot reach the agentkeep server at {server} ({reason}); is `agentkeep serve` "
        "running? Set --server or AGENTKEEP_SERVER."
    )


def raise_for(response: httpx.Response) -> NoReturn:
    """``Failed`` with the server's own message (the error envelope's ``message``)."""
    message = server_message(response)
    if response.status_code == 401:
        message += " (pass --api-key or set AGENTKEEP_API_KEY)"
    code = NOT_FOUND if response.status_code == 404 else REFUSED
    fail(f"{message} (HTTP {response.status_code})", code)


def server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return response.reason_phrase or "error"
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail")
        if isinstance(message, str) and message:
            return " ".join(message.split())
    return response.reason_phrase or "error"


def task_path(ref: str) -> str:
    """``/tasks/{id}`` for a task id, ``/tasks/name/{name}`` for anything else."""
    return f"/tasks/{ref}" if UUID.match(ref) else f"/tasks/name/{ref}"


def agent_path(ref: str) -> str:
    return f"/agents/{ref}" if UUID.match(ref) else f"/agents/name/{ref}"


def print_json(doc: Any) -> None:
    """One JSON document on stdout (plain ``print``: no Rich markup or wrapping)."""
    print(json.dumps(doc, ensure_ascii=False))
