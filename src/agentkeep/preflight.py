"""What ``serve`` checks before it changes anything: the port, the database, the migrations.

Each failure is a ``Refused`` whose message is the one line the operator reads: what is
wrong and what to do about it, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import tempfile
from pathlib import Path
from typing import IO

from agentkeep.settings import Settings


class Refused(Exception):
    """The server cannot start; the message says why, on one line."""


def check_port(host: str, port: int) -> None:
    """Refuse a port another process listens on, before any start-up work is done.

    uvicorn binds with SO_REUSEADDR too, so a port in TIME_WAIT passes here as it does there.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(f"cannot resolve host {host!r}: {exc.strerror}. Check --host.") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Refused(
                    f"port {port} on {host} is already in use (another agentkeep serve?); "
                    "stop it or choose another with --port or AGENTKEEP_PORT."
                ) from None
            raise Refused(f"cannot listen on {host}:{port}: {exc.strerror}.") from None


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for Postgres and in-memory databases."""
    if not url.startswith("sqlite"):
        return None
    database = url.partition(":///")[2].split("?")[0]
    if not database or database == ":memory:":
        return None
    return Path(database)


def claim_database(settings: Settings) -> IO[bytes] | None:
    """Hold a lock beside a SQLite database served with the in-process bus.

    Two such servers on one file would each deliver only their own stream events, so the
    second is refused. The lock lives as long as the returned file stays open (the process);
    the kernel drops it when the process dies, so a crash leaves nothing to clean up.
    """
    path = sqlite_path(settings.database_url)
    if path is None:
        return None
    _check_directory(path)
    if settings.redis_url:
        return None  # several servers share one bus: nothing is lost between them
    lock_path = path.with_name(path.name + ".serve-lock")
    try:
        lock = lock_path.open("ab")
    except OSError as exc:
        raise Refused(f"cannot write beside the database ({lock_path}): {exc.strerror}.") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise Refused(
            f"another agentkeep serve already uses {path} with the in-process bus; "
            "stop it, or set AGENTKEEP_REDIS_URL to run several servers on one database."
        ) from None
    return lock


def _check_directory(path: Path) -> None:
    if not path.parent.is_dir():
        raise Refused(
            f"cannot open the SQLite database {path}: the directory {path.parent} does not "
            "exist. Create it or fix AGENTKEEP_DATABASE_URL."
        )


def migrate(url: str) -> list[str]:
    """Apply pending migrations; a database that cannot be opened is ``Refused``."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    from agentkeep import migrate as migrate_mod

    path = sqlite_path(url)
    if path is not None:
        _check_directory(path)
    try:
        return migrate_mod.upgrade_sync(url)
    except (OSError, DBAPIError, asyncpg.PostgresError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise Refused(
            f"cannot reach the database: {_one_line(reason)}. "
            "Check AGENTKEEP_DATABASE_URL and that the database is running."
        ) from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def prepare_multiprocess_metrics() -> None:
    """Give worker processes one prometheus-client multiprocess directory, emptied first.

    Each worker writes its samples to files there and ``/metrics`` (any worker) sums them;
    stale files from an earlier run would count twice, so they go.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        directory = tempfile.mkdtemp(prefix="agentkeep-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
