"""Private PostgreSQL and Redis instances that a test may stop, restart and freeze.

The shared services (5432, 6379) must never be stopped or frozen, so fault tests run their
own: an ``initdb`` cluster in a temporary directory, owned by an unprivileged user (Postgres
refuses to run as root), and a ``redis-server`` without persistence, each on a free port.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import free_port

START_TIMEOUT_SECONDS = 30.0


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Postgres backends are children of the
    postmaster), read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def _signal_tree(pid: int, sig: int) -> None:
    for p in _descendants(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, sig)


class PrivatePostgres:
    """A throwaway cluster: ``start``, ``stop``, ``freeze``/``thaw`` (SIGSTOP/SIGCONT on
    the postmaster and every backend, like a network partition)."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        found = bins[-1] if bins else shutil.which("initdb")
        if not found:
            raise RuntimeError("PostgreSQL binaries (initdb) not found")
        self.bin = Path(found).parent
        self.root = Path(tempfile.mkdtemp(prefix="agentkeep-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "nobody" if os.geteuid() == 0 else None
        self.proc: subprocess.Popen[bytes] | None = None
        self.data.mkdir()
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.data, pw.pw_uid, pw.pw_gid)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        initdb = str(self.bin / "initdb")
        self._run([initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"])

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str]) -> None:
        subprocess.run(args, user=self.user, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        with (self.root / "postgres.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)),
                    *("-k", str(self.root), "-c", "listen_addresses=127.0.0.1"),
                    *("-c", "fsync=off", "-c", "max_connections=200"),
                ],
                user=self.user,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._ready, START_TIMEOUT_SECONDS, "the private PostgreSQL")

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError((self.root / "postgres.log").read_text(errors="replace"))
        check = subprocess.run(
            [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
            check=False,
        )
        return check.returncode == 0

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as on a database failover."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)
        self.proc = None

    def freeze(self) -> None:
        assert self.proc is not None
        _signal_tree(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        _signal_tree(self.proc.pid, signal.SIGCONT)

    def close(self) -> None:
        if self.proc is not None:
            self.thaw()
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A ``redis-server`` without persistence: a restart loses every stream."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="agentkeep-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.root)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _accepts(self.port), START_TIMEOUT_SECONDS, "the private Redis")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.proc is not None:
            self.thaw()
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
