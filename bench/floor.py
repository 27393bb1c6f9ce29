"""The storage floors: the INSERT + guarded ``UPDATE … RETURNING`` of a create+complete
pair, done as directly as each driver allows, on the same database server in the same run.

agentkeep's ``trans`` phase is reported as a fraction of these.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from pathlib import Path

import asyncpg

_DDL = """CREATE TABLE IF NOT EXISTS bench_floor (
    id TEXT PRIMARY KEY, name TEXT, status TEXT NOT NULL, version INTEGER NOT NULL,
    params {json}, created_at {ts} NOT NULL, updated_at {ts} NOT NULL)"""
_INSERT = (
    "INSERT INTO bench_floor (id, name, status, version, params, created_at, updated_at) "
    "VALUES ({p1}, NULL, 'RUNNING', 1, {p2}, {now}, {now})"
)
_UPDATE = (
    "UPDATE bench_floor SET status = 'COMPLETED', version = version + 1, updated_at = {now} "
    "WHERE id = {p1} AND status IN ('RUNNING', 'INTERRUPTED') RETURNING *"
)


async def postgres(dsn: str, duration: float, workers: int = 32) -> float:
    """Pairs per second with ``workers`` concurrent connections (asyncpg, autocommit)."""
    pg = {"p1": "$1", "p2": "$2", "now": "now()", "json": "JSONB", "ts": "TIMESTAMPTZ"}
    pool = await asyncpg.create_pool(dsn, min_size=workers, max_size=workers)
    try:
        await pool.execute(_DDL.format(**pg))
        insert, update = _INSERT.format(**pg), _UPDATE.format(**pg)
        stop = time.perf_counter() + duration
        done = 0

        async def worker() -> None:
            nonlocal done
            async with pool.acquire() as conn:
                while time.perf_counter() < stop:
                    task_id = str(uuid.uuid4())
                    await conn.execute(insert, task_id, "{}")
                    await conn.fetchrow(update, task_id)
                    done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return done / (time.perf_counter() - start)
    finally:
        await pool.close()


def sqlite(path: Path, duration: float) -> float:
    """Pairs per second through the sqlite3 module in WAL mode, one commit per statement
    (SQLite has one writer: concurrency would only queue)."""
    lite = {"p1": "?", "p2": "?", "now": "?", "json": "TEXT", "ts": "TEXT"}
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(_DDL.format(**lite))
        insert = _INSERT.replace("{now}, {now}", "?, ?").format(**lite)
        update = _UPDATE.format(**lite)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < duration:
            task_id, now = str(uuid.uuid4()), time.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(insert, (task_id, "{}", now, now))
            conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(update, (now, task_id)).fetchall()
            conn.execute("COMMIT")
            done += 1
        return done / (time.perf_counter() - start)
    finally:
        conn.close()
