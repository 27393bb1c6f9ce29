"""Backends and server processes: a fresh database per backend, ``agentkeep serve`` on a
free port, seeding through the API, and what the process holds (RSS, open files)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
REDIS_DEFAULT = "redis://127.0.0.1:6379/0"


@dataclass
class Backend:
    """One storage configuration: ``sqlite`` (file + in-process bus) or ``postgres``."""

    name: str
    database_url: str
    redis_url: str | None = None
    cleanup: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {"AGENTKEEP_DATABASE_URL": self.database_url}
        if self.redis_url:
            env["AGENTKEEP_REDIS_URL"] = self.redis_url
        return env

    @property
    def asyncpg_dsn(self) -> str:
        return self.database_url.replace("postgresql+asyncpg://", "postgresql://")


def _admin_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextlib.contextmanager
def backend(name: str, workdir: Path) -> Iterator[Backend]:
    """A fresh, empty database of kind ``name``, dropped afterwards."""
    if name == "sqlite":
        yield Backend("sqlite", f"sqlite+aiosqlite:///{workdir / f'bench-{uuid.uuid4().hex}.db'}")
        return
    base = os.environ.get("BENCH_POSTGRES_URL", PG_DEFAULT)
    db = f"agentkeep_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(base, f'CREATE DATABASE "{db}"'))
    head, _, _ = base.rpartition("/")
    try:
        yield Backend("postgres", f"{head}/{db}", os.environ.get("BENCH_REDIS_URL", REDIS_DEFAULT))
    finally:
        asyncio.run(_pg_admin(base, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


async def _pg_admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(url), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def settle(self, open_files: int, timeout: float = 60.0) -> None:
        """Wait until the server holds at most ``open_files`` descriptors again (the
        viewers of a fan-out are closed), so the next phase does not time their teardown."""
        deadline = time.monotonic() + timeout
        while self.open_files() > open_files and time.monotonic() < deadline:
            time.sleep(0.2)

    def connections_to(self, port: int) -> int:
        """Open TCP connections from this process to ``port`` (e.g. Redis's 6379)."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{self.proc.pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                    count += 1
        return count


@contextlib.contextmanager
def server(b: Backend, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """``agentkeep serve`` (one process) on ``b``; waits for /healthz, stops on exit."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="agentkeep-bench-", suffix=".log")[1])
    env = {**os.environ, **b.env, "AGENTKEEP_PORT": str(port), "AGENTKEEP_LOG_LEVEL": "warning"}
    env.update(extra_env or {})
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentkeep", "serve"],
            env=env,
            stdout=out,
            stderr=out,
            preexec_fn=_raise_nofile,
        )
    srv = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        _wait_healthy(srv)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _raise_nofile() -> None:
    """Fan-out holds a socket per viewer: give the server its hard open-file limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _wait_healthy(srv: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            raise RuntimeError(f"the server exited at start:\n{srv.log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{srv.url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz in 60 s; log: {srv.log}")


def register_agent(srv: Server, acp_type: str = "sync") -> str:
    """Register an agent (nothing listens at its URL: task/create on a sync agent never
    calls it) and return its name."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "description": "bench", "acp_url": "http://127.0.0.1:9"}
    r = httpx.post(f"{srv.url}/agents/register", json={**body, "acp_type": acp_type}, timeout=30)
    r.raise_for_status()
    return name


def create_tasks(
    srv: Server, agent: str, count: int, metadata: dict[str, object] | None = None
) -> list[str]:
    """Create ``count`` tasks through the API (concurrently) and return their ids."""

    async def run() -> list[str]:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=srv.url, timeout=60, limits=limits) as c:
            sem = asyncio.Semaphore(16)

            async def one() -> str:
                params = {"task_metadata": metadata} if metadata else {}
                body = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": params}
                async with sem:
                    r = await c.post(f"/agents/name/{agent}/rpc", json=body)
                return str(r.json()["result"]["id"])

            return list(await asyncio.gather(*(one() for _ in range(count))))

    return asyncio.run(run())
