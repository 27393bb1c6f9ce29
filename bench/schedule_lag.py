"""Fire lag with many schedules due in the same second, on Postgres with several processes.

    python -m bench.schedule_lag [--schedules 100] [--processes 2] [--rounds 2]

Creates a fresh Postgres database, starts ``--processes`` ``agentkeep serve`` processes on
it (sharing Redis) and the example echo agent, registers ``--schedules`` schedules with
``interval_seconds=60`` (epoch-aligned: all due at the same second, each minute), waits
``--rounds`` minute boundaries, and reports the claim lag (fire row ``created_at`` minus
its nominal time, what ``agentkeep_schedule_fire_lag_seconds`` observes) and the time
until each fire was launched. A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from agentkeep import migrate

PG = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "agentkeep", *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_ok(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


async def admin(sql: str) -> None:
    u = make_url(PG)
    conn = await asyncpg.connect(str(u.set(drivername="postgresql")), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(n_schedules: int, n_processes: int, rounds: int) -> None:
    name = f"agentkeep_bench_sched_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE DATABASE "{name}"')
    url = make_url(PG).set(database=name).render_as_string(False)
    await migrate.upgrade(url)
    tmp = Path(tempfile.mkdtemp(prefix="schedule-lag-"))
    env = {"AGENTKEEP_DATABASE_URL": url, "AGENTKEEP_REDIS_URL": REDIS}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        ports = [free_port() for _ in range(n_processes)]
        for i, port in enumerate(ports):
            procs.append(spawn(["serve"], {**env, "AGENTKEEP_PORT": str(port)}, tmp / f"s{i}.log"))
        for port in ports:
            await wait_ok(f"http://127.0.0.1:{port}/healthz")
        base = f"http://127.0.0.1:{ports[0]}"
        agent_port = free_port()
        agent_args = ["example-agent", "--server", base, "--name", "echo-bench"]
        agent_args += ["--type", "sync", "--port", str(agent_port)]
        procs.append(spawn(agent_args, {}, tmp / "agent.log"))
        await wait_ok(f"http://127.0.0.1:{agent_port}/healthz")
        await measure(base, n_schedules, rounds)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(15)
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def measure(base: str, n_schedules: int, rounds: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        agent = (await http.get("/agents/name/echo-bench")).json()
        path = f"/agents/{agent['id']}/schedules"
        ids = []
        for i in range(n_schedules):
            body = {"name": f"s{i}", "interval_seconds": 60, "initial_input": {"content": "tick"}}
            ids.append((await http.post(path, json=body)).json()["id"])
        # Wait for ``rounds`` minute boundaries, then for the fires to finish.
        await asyncio.sleep(60 * rounds - time.time() % 60 + 5)
        for sid in ids:
            await http.post(f"{path}/{sid}/pause")
        claim: list[float] = []
        launch: list[float] = []
        statuses: dict[str, int] = {}
        for sid in ids:
            while True:
                fires = (await http.get(f"{path}/{sid}/fires")).json()
                if all(f["status"] not in ("pending", "running") for f in fires):
                    break
                await asyncio.sleep(0.5)
            for f in fires:
                nominal = datetime.fromisoformat(f["nominal_time"])
                statuses[f["status"]] = statuses.get(f["status"], 0) + 1
                claim.append((datetime.fromisoformat(f["created_at"]) - nominal).total_seconds())
                if f["finished_at"] and f["status"] == "launched":
                    done = datetime.fromisoformat(f["finished_at"])
                    launch.append((done - nominal).total_seconds())
    print(f"fires: {len(claim)} {statuses}")
    for label, values in (("claim lag", claim), ("launched after", launch)):
        if values:
            print(
                f"{label}: p50 {percentile(values, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(values, 0.99) * 1000:.0f} ms, "
                f"max {max(values) * 1000:.0f} ms, mean {statistics.mean(values) * 1000:.0f} ms"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    a = parser.parse_args()
    asyncio.run(main(a.schedules, a.processes, a.rounds))
