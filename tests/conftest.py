"""Shared fixtures: real databases (SQLite file, PostgreSQL), real apps, real server processes.

Backends are fixture parameters, never branches inside tests. PostgreSQL comes from
``TEST_POSTGRES_URL`` and Redis from ``TEST_REDIS_URL``; unset means skipped on a developer
machine and a failure under CI (``CI`` set), so a missing service can never pass silently.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

import agentkeep
from agentkeep import migrate
from agentkeep.app import create_app
from agentkeep.bus.base import EventBus
from agentkeep.bus.memory import InMemoryBus
from agentkeep.bus.redis import RedisStreamsBus
from agentkeep.settings import Settings
from agentkeep.store import SqlStore

IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build Settings explicitly; stray AGENTKEEP_* variables must not leak in."""
    for name in list(os.environ):
        if name.startswith("AGENTKEEP_"):
            monkeypatch.delenv(name)


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile the package once, before any test starts a process.

    Every server and agent process a test starts imports the whole package. Where
    ``PYTHONDONTWRITEBYTECODE`` is set (CI images often set it; the CI machine here does),
    no process keeps its bytecode, so each compiled ~170 modules from source again: about
    0.6 s of CPU per process. ``compileall`` writes the caches regardless of that setting,
    and is a no-op when they are current. Once per run: on the controller, not per worker.
    """
    if not hasattr(config, "workerinput"):
        compileall.compile_dir(Path(agentkeep.__file__).parent, quiet=1)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per skip reason with its count, instead of one line per skipped test."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        raw = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else "skipped"
        reason = raw.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"skipped {count}: {reason}")


def service_url(var: str) -> str:
    url = os.environ.get(var)
    if not url:
        if IN_CI:
            pytest.fail(f"{var} is not set: CI must run the Postgres and Redis tests")
        pytest.skip(f"{var} not set")
    return url


# --------------------------------------------------------------------------- databases


def _pg_admin_dsn(url: str) -> str:
    u = make_url(url)
    return str(u.set(drivername="postgresql")).replace("***", u.password or "")


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_pg_admin_dsn(url), timeout=5)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database, built once per session and dropped after it."""
    url = service_url("TEST_POSTGRES_URL")
    name = f"agentkeep_tpl_{os.getpid()}"

    async def build() -> None:
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        await _admin(url, drop, f'CREATE DATABASE "{name}"')
        await migrate.upgrade(str(make_url(url).set(database=name).render_as_string(False)))

    try:
        asyncio.run(build())
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at TEST_POSTGRES_URL is unreachable: {exc}")
    yield name
    asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class PgDatabases:
    """Fresh migrated databases for tests, cloned from the template and reused.

    ``DROP DATABASE`` forces a checkpoint, which costs from a fraction of a second to
    several seconds on a busy host; a test's database is therefore emptied (every table
    truncated, identities restarted) and handed to the next test instead. Emptied is as
    fresh as cloned: the migrations seed no rows. A database whose schema a test changed
    (a downgrade) is dropped, not reused.
    """

    def __init__(self, base: str, template: str) -> None:
        self.base, self.template = base, template
        self.free: list[str] = []
        self.made: list[str] = []
        self.head, self.tables = asyncio.run(self._describe(template))

    def url(self, name: str) -> str:
        return make_url(self.base).set(database=name).render_as_string(False)

    async def _describe(self, name: str) -> tuple[str, list[str]]:
        conn = await asyncpg.connect(_pg_admin_dsn(self.url(name)), timeout=5)
        try:
            return await self._schema(conn)
        finally:
            await conn.close()

    @staticmethod
    async def _schema(conn: asyncpg.Connection) -> tuple[str, list[str]]:
        head = await conn.fetchval("SELECT version_num FROM alembic_version")
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version' ORDER BY tablename"
        )
        return str(head), [r["tablename"] for r in rows]

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"agentkeep_t_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(self.base, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.made.append(name)
        return name

    def give_back(self, name: str) -> None:
        if not asyncio.run(self._emptied(name)):
            self.made.remove(name)
            asyncio.run(_admin(self.base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        self.free.append(name)

    async def _emptied(self, name: str) -> bool:
        """Empty ``name`` in place; False when its schema is not the template's any more."""
        conn = await asyncpg.connect(_pg_admin_dsn(self.url(name)), timeout=5)
        try:
            # Connections a test left open (a killed server's, say) would hold locks.
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if await self._schema(conn) != (self.head, self.tables):
                return False
            # DELETE beats TRUNCATE on tables this small (no new files); replica mode
            # skips the foreign-key triggers so the order does not matter.
            deletes = "".join(f'DELETE FROM "{t}";' for t in self.tables)
            await conn.execute(
                "BEGIN; SET LOCAL session_replication_role = replica;"
                f"{deletes}"
                "SELECT setval(s.oid, q.seqstart, false)"
                " FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid;"
                "COMMIT;"
            )
        finally:
            await conn.close()
        return True

    def close(self) -> None:
        drops = [f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in self.made]
        if drops:
            asyncio.run(_admin(self.base, *drops))


@pytest.fixture(scope="session")
def pg_databases(pg_template: str) -> Iterator[PgDatabases]:
    pool = PgDatabases(service_url("TEST_POSTGRES_URL"), pg_template)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    migrate.upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each kind for one test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "agentkeep.db"
        path.write_bytes(template.read_bytes())
        yield f"sqlite+aiosqlite:///{path}"
        return
    pool: PgDatabases = request.getfixturevalue("pg_databases")
    name = pool.take()
    yield pool.url(name)
    pool.give_back(name)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    s = SqlStore(db_url)
    yield s
    await s.close()


# --------------------------------------------------------------------------- apps


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, sweep_interval_seconds=0.2, sse_ping_seconds=0.5)


@contextlib.asynccontextmanager
async def running_app(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and give a client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def client(settings: Settings, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(settings, store=store)) as c:
        yield c


# --------------------------------------------------------------------------- processes


#: Ports for the servers and agents tests start: below the kernel's ephemeral range (where
#: outgoing connections take theirs), one slice per pytest-xdist worker, so that no two
#: workers can pick the same port between choosing it and binding it.
_PORTS = range(20_000, 32_000)


def free_port() -> int:
    """A port on 127.0.0.1 nothing is bound to, from this worker's slice."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    size = len(_PORTS) // workers
    first = _PORTS.start + worker * size
    for _ in range(1000):
        port = random.randrange(first, first + size)
        with socket.socket() as s:
            try:
                # No SO_REUSEADDR: a port still in TIME_WAIT is passed over too.
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {first}-{first + size - 1}")


@dataclass
class ServerProcess:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(
    env: dict[str, str],
    log: Path,
    *args: str,
    cwd: Path | None = None,
    port: int | None = None,
    timeout: float = 60,
) -> ServerProcess:
    """Start ``agentkeep serve`` as a real process and wait until it answers /healthz.

    ``port`` reuses a known port (a restart in place); by default a free one is picked.
    """
    port = port or free_port()
    full_env = {**os.environ, **env, "AGENTKEEP_PORT": str(port)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentkeep", "serve", *args],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + timeout
    # One client for the whole wait: ``httpx.get`` builds a client, and with it a TLS
    # context (~40 ms of CPU), on every poll.
    with httpx.Client(timeout=1) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{server.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{server.url}/healthz").status_code == 200:
                    return server
            time.sleep(0.1)
    proc.kill()
    proc.wait()  # reaped here, or its ResourceWarning fails whichever test runs next
    raise RuntimeError(f"server did not start in {timeout:g} s:\n{server.output()}")


def stop_server(server: ServerProcess) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A real ``agentkeep serve`` process on the test database."""
    srv = start_server({"AGENTKEEP_DATABASE_URL": db_url}, tmp_path / "server.log")
    yield srv
    stop_server(srv)


# --------------------------------------------------------------------------- factories


@pytest.fixture
def agent_factory(client: httpx.AsyncClient) -> Any:
    async def make(name: str | None = None, acp_type: str = "sync", **extra: Any) -> dict[str, Any]:
        body = {
            "name": name or f"agent-{uuid.uuid4().hex[:8]}",
            "description": "test agent",
            "acp_url": "http://127.0.0.1:9",
            "acp_type": acp_type,
            **extra,
        }
        r = await client.post("/agents/register", json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    return make


@pytest.fixture
def task_factory(client: httpx.AsyncClient, agent_factory: Any) -> Any:
    async def make(agent: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        agent = agent or await agent_factory()
        r = await client.post(
            f"/agents/{agent['id']}/rpc",
            json={"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": params},
        )
        assert r.status_code == 200 and r.json()["error"] is None, r.text
        return dict(r.json()["result"])

    return make


# --------------------------------------------------------------------------- buses


@pytest.fixture
def redis_srv() -> Iterator[Any]:
    """A private ``redis-server`` on a free port (a ``PrivateRedis``), for tests that stop or
    freeze it, or read its counters: the shared Redis is never touched that way."""
    # Imported here: ``services`` imports this module (``free_port``).
    from tests.reliability.services import PrivateRedis

    srv = PrivateRedis()
    srv.start()
    yield srv
    srv.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    """An event bus of each kind. Tests use fresh task ids (UUIDs), so the shared Redis
    needs no flushing: no two tests ever touch the same ``task:{id}`` key."""
    made: EventBus
    if request.param == "memory":
        made = InMemoryBus(maxlen=1000, ttl_seconds=3600)
    else:
        made = RedisStreamsBus(service_url("TEST_REDIS_URL"), maxlen=1000, ttl_seconds=3600)
    yield made
    await made.close()
