"""Reads as the table grows: seed tasks straight into the database (the API would take
minutes for a million), then time a task read and two list queries with wrk."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench import wrk
from bench.servers import Backend, Server

TEAMS = 100
_PG_SEED = """
INSERT INTO tasks (id, name, status, params, task_metadata, version, created_at, updated_at)
SELECT gen_random_uuid()::text, NULL, CASE WHEN g % 10 = 0 THEN 'COMPLETED' ELSE 'RUNNING' END,
       '{}'::jsonb, jsonb_build_object('team', 't' || (g % $1)), 1,
       now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval
FROM generate_series(1, $2) AS g
"""
LIST = "/tasks?status=RUNNING&limit=50"
FILTERED = LIST + "&task_metadata=" + urllib.parse.quote(json.dumps({"team": "t7"}))
EXPLAINED = {
    # The server's own list query (``store.tasks.list_tasks``), not a simplified one.
    "list": "SELECT * FROM tasks WHERE status <> 'DELETED' AND status = 'RUNNING'"
    " ORDER BY updated_at DESC, created_at DESC, id LIMIT 50",
    "get": "SELECT * FROM tasks WHERE id = 'x'",
}


async def _seed_pg(dsn: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_PG_SEED, TEAMS, count)
        await conn.execute("ANALYZE tasks")
    finally:
        await conn.close()


def _seed_sqlite(path: str, count: int) -> None:
    # One second apart, oldest last, as on Postgres: equal timestamps would turn the
    # list's ``ORDER BY updated_at, created_at, id`` into a sort of the whole table.
    now = datetime.now(UTC).replace(tzinfo=None)
    conn = sqlite3.connect(path, timeout=60)
    try:
        rows = (
            (
                str(uuid.uuid4()),
                "COMPLETED" if i % 10 == 0 else "RUNNING",
                json.dumps({"team": f"t{i % TEAMS}"}),
                stamp,
                stamp,
            )
            for i in range(count)
            for stamp in [(now - timedelta(seconds=i + 1)).isoformat(" ")]
        )
        with conn:
            conn.executemany(
                "INSERT INTO tasks (id, status, params, task_metadata, version, created_at,"
                " updated_at) VALUES (?, ?, '{}', ?, 1, ?, ?)",
                rows,
            )
        conn.execute("ANALYZE")
    finally:
        conn.close()


def seed(b: Backend, count: int) -> None:
    if b.name == "postgres":
        asyncio.run(_seed_pg(b.asyncpg_dsn, count))
    else:
        _seed_sqlite(b.database_url.split("///", 1)[1], count)


def sample_ids(b: Backend, n: int = 1000) -> list[str]:
    sql = f"SELECT id FROM tasks ORDER BY random() LIMIT {n}"
    if b.name == "postgres":

        async def run() -> list[str]:
            conn = await asyncpg.connect(b.asyncpg_dsn)
            try:
                return [r["id"] for r in await conn.fetch(sql)]
            finally:
                await conn.close()

        return asyncio.run(run())
    conn = sqlite3.connect(b.database_url.split("///", 1)[1])
    try:
        return [r[0] for r in conn.execute(sql)]
    finally:
        conn.close()


def explain(b: Backend) -> dict[str, str]:
    if b.name == "postgres":

        async def run() -> dict[str, str]:
            conn = await asyncpg.connect(b.asyncpg_dsn)
            try:
                plans = {}
                for key, sql in EXPLAINED.items():
                    rows = await conn.fetch("EXPLAIN " + sql)
                    plans[key] = "\n".join(r[0] for r in rows)
                return plans
            finally:
                await conn.close()

        return asyncio.run(run())
    conn = sqlite3.connect(b.database_url.split("///", 1)[1])
    try:
        return {
            k: "\n".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
            for k, sql in EXPLAINED.items()
        }
    finally:
        conn.close()


def measure(srv: Server, b: Backend, levels: list[int], duration: float) -> list[dict[str, Any]]:
    """For each total size in ``levels`` (ascending): seed up to it, then time the reads."""
    out: list[dict[str, Any]] = []
    have = 0
    for level in levels:
        seed(b, level - have)
        have = level
        ids = sample_ids(b)
        random.shuffle(ids)
        row: dict[str, Any] = {"tasks": level}
        for name, paths in (
            ("get", [f"/tasks/{i}" for i in ids]),
            ("list", [LIST]),
            ("filtered", [FILTERED]),
        ):
            env = {"PATHS_FILE": wrk.paths_file(paths)}
            # Not recorded: the first requests after seeding pay for cold caches and
            # fresh planner statistics, which is not what a table of this size costs.
            wrk.run(srv.url, "get", duration=1.0, connections=4, env=env)
            load = wrk.run(srv.url, "get", duration=duration, connections=4, env=env)
            row[name] = load.as_dict()
        out.append(row)
    return out
