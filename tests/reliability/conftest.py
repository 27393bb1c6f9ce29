"""Fixtures of the reliability suite: private services and real server processes.

One private PostgreSQL cluster per session (``initdb`` takes seconds), a fresh database in it
per test; a private Redis per test. Tests that stop or freeze a service bring it back
before they end, and the fixtures make sure of it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from tests.reliability.kit import Server
from tests.reliability.services import PrivatePostgres

from agentkeep import migrate


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    pg.start()
    yield pg
    pg.close()


@pytest.fixture
def pg(private_pg: PrivatePostgres) -> Iterator[PrivatePostgres]:
    """The private cluster, running and thawed after the test whatever it did."""
    yield private_pg
    if private_pg.proc is None:
        private_pg.start()
    else:
        private_pg.thaw()


@pytest.fixture
def pg_url(pg: PrivatePostgres) -> str:
    """A fresh, migrated database in the private cluster."""
    name = f"rel_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{pg.port}/postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    url = pg.url.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade_sync(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'agentkeep.db'}"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers a test starts are appended here and killed at its end."""
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()
