"""PostgreSQL frozen (SIGSTOP, like a partition), stopped and restarted under load: no
request hangs past the configured timeout, failures are 503 with the envelope and
``Retry-After`` on a connection that stays usable, the server recovers without a restart,
and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tests.reliability.kit import Server, create_task, register_agent
from tests.reliability.services import PrivatePostgres

pytestmark = pytest.mark.timeout(300)

WORKERS = 8
DB_TIMEOUT_SECONDS = 2
#: A request slower than this hangs: a few database timeouts in a row (checkout, command,
#: rollback) and more for a loaded machine, far below the outage itself.
HANG_SECONDS = 15
OUTAGE_WAIT_SECONDS = 60


@dataclass
class Worker:
    task_id: str
    acked: int = 0
    newest: int = 0
    failures: list[tuple[int, dict[str, object], str | None]] = field(default_factory=list)
    hangs: int = 0
    broken: int = 0
    #: Outcomes since the current phase began: (ok, failed).
    phase_ok: int = 0
    phase_failed: int = 0


async def _work(server: Server, w: Worker, stop: asyncio.Event) -> None:
    # One connection per worker, kept alive: a 503 must leave it usable.
    limits = httpx.Limits(max_connections=1)
    timeout = httpx.Timeout(HANG_SECONDS, connect=5)
    async with httpx.AsyncClient(base_url=server.url, timeout=timeout, limits=limits) as http:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                r = await http.put(f"/tasks/{w.task_id}", json={"task_metadata": {"n": n}})
            except httpx.TimeoutException:
                w.hangs += 1
                w.phase_failed += 1
                continue
            except httpx.TransportError:
                w.broken += 1
                w.phase_failed += 1
                continue
            if r.status_code == 200:
                w.acked += 1
                w.newest = max(w.newest, r.json()["version"])
                w.phase_ok += 1
            else:
                w.failures.append((r.status_code, r.json(), r.headers.get("retry-after")))
                w.phase_failed += 1
                await asyncio.sleep(0.05)  # as a client honouring Retry-After would, briefly


async def _until(condition: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(OUTAGE_WAIT_SECONDS):
        while not condition():
            await asyncio.sleep(0.05)


async def _outage(
    workers: list[Worker], begin: Callable[[], None], end: Callable[[], None]
) -> None:
    """Start an outage, wait until every worker felt it, end it, wait until every worker
    succeeded again."""
    for w in workers:
        w.phase_failed = 0
    begin()
    await _until(lambda: all(w.phase_failed for w in workers), "every worker to fail")
    for w in workers:
        w.phase_ok = 0
    end()
    await _until(lambda: all(w.phase_ok for w in workers), "every worker to recover")


async def _run(server: Server, pg: PrivatePostgres, workers: list[Worker]) -> None:
    stop = asyncio.Event()
    running = [asyncio.create_task(_work(server, w, stop)) for w in workers]
    await _until(lambda: all(w.acked for w in workers), "the load to start")
    await _outage(workers, pg.freeze, pg.thaw)
    await _outage(workers, pg.stop, pg.start)
    stop.set()
    await asyncio.gather(*running)


def test_database_frozen_and_stopped_under_load(
    pg: PrivatePostgres, pg_url: str, servers: list[Server], tmp_path: Path
) -> None:
    env = {
        "AGENTKEEP_DATABASE_URL": pg_url,
        "AGENTKEEP_DB_TIMEOUT_SECONDS": str(DB_TIMEOUT_SECONDS),
        "AGENTKEEP_DB_CONNECT_TIMEOUT_SECONDS": str(DB_TIMEOUT_SECONDS),
    }
    server = Server(env, tmp_path / "server.log")
    servers.append(server)
    server.start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        agent = register_agent(http, "outage")
        workers = [Worker(create_task(http, agent["id"])["id"]) for _ in range(WORKERS)]
    asyncio.run(_run(server, pg, workers))
    failures = [f for w in workers for f in w.failures]
    acked = sum(w.acked for w in workers)
    hangs = sum(w.hangs for w in workers)
    print(
        f"\ndatabase outage: {acked} writes acknowledged, {len(failures)} refused with 503, "
        f"{hangs} hung, {sum(w.broken for w in workers)} connections broken"
    )
    assert hangs == 0
    assert sum(w.broken for w in workers) == 0
    assert failures
    for code, body, retry_after in failures:
        assert code == 503 and set(body) == {"message", "code", "data"}, body
        assert retry_after is not None
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for w in workers:
            assert http.get(f"/tasks/{w.task_id}").json()["version"] >= w.newest
    assert "Traceback" not in server.output()
