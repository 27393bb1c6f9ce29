"""A low open-file limit: ``serve`` raises the soft limit to the hard one and says so;
viewers beyond what the descriptors allow get 503, none a 500 or a hung connection, and
the server recovers once they leave."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from tests.reliability.kit import Server, create_task, register_agent

pytestmark = pytest.mark.timeout(300)

LIMIT = 256
#: Far more viewers than ``serve`` admits with ``LIMIT`` descriptors, within what the
#: process can still accept and answer (beyond that, connections wait in the kernel).
ATTEMPTS = 150


async def _open_viewers(url: str, hold: asyncio.Event) -> list[int | str]:
    """Open ``ATTEMPTS`` viewers at once; each reports its status (or its transport
    error) and, if admitted, stays connected until ``hold`` is set."""
    results: list[int | str] = []
    admitted = asyncio.Event()
    limits = httpx.Limits(max_connections=ATTEMPTS + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30), limits=limits) as http:

        async def one() -> None:
            try:
                async with http.stream("GET", url) as r:
                    results.append(r.status_code)
                    if len(results) == ATTEMPTS:
                        admitted.set()
                    if r.status_code == 200:
                        await r.aiter_lines().__anext__()  # connected
                        await hold.wait()
            except httpx.TransportError as exc:
                results.append(type(exc).__name__)
                if len(results) == ATTEMPTS:
                    admitted.set()

        viewers = [asyncio.create_task(one()) for _ in range(ATTEMPTS)]
        await admitted.wait()
        hold.set()
        await asyncio.gather(*viewers)
    return results


def test_low_open_file_limit_answers_503_and_recovers(
    sqlite_url: str, servers: list[Server], tmp_path: Path
) -> None:
    # A soft limit below the hard one, which ``serve`` raises to the hard one first.
    server = Server(
        {"AGENTKEEP_DATABASE_URL": sqlite_url},
        tmp_path / "server.log",
        nofile=(LIMIT // 2, LIMIT),
    )
    servers.append(server)
    server.start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        agent = register_agent(http, "files")
        task = create_task(http, agent["id"])
    results = asyncio.run(_open_viewers(f"{server.url}/tasks/{task['id']}/stream", asyncio.Event()))
    codes = {r: results.count(r) for r in set(results)}
    print(f"\n{ATTEMPTS} viewers at {LIMIT} open files: {codes}")
    assert set(codes) <= {200, 503}, codes
    assert codes.get(503)
    # Recovered: requests and new viewers are served again.
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get(f"/tasks/{task['id']}").status_code == 200
        with http.stream("GET", f"/tasks/{task['id']}/stream") as r:
            assert r.status_code == 200
    assert f"open files: soft limit raised from {LIMIT // 2} to {LIMIT}" in server.output()
    assert "Too many open files" not in server.output()
