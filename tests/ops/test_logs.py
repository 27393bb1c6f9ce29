"""Access logs, JSON lines, dependency outages in the log, and CORS."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentkeep import watchdog
from agentkeep.app import create_app
from agentkeep.bus.redis import RedisStreamsBus
from agentkeep.metrics import Metrics
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import free_port, running_app, start_server, stop_server


def test_json_access_log_carries_request_id_route_status_latency(
    db_url: str, tmp_path: Path
) -> None:
    env = {
        "AGENTKEEP_DATABASE_URL": db_url,
        "AGENTKEEP_ACCESS_LOG": "1",
        "AGENTKEEP_LOG_FORMAT": "json",
    }
    server = start_server(env, tmp_path / "server.log", cwd=tmp_path)
    try:
        httpx.get(f"{server.url}/healthz", headers={"x-request-id": "req-123"})
        httpx.get(f"{server.url}/tasks/name/nobody")
    finally:
        stop_server(server)
    lines = [json.loads(x) for x in server.output().splitlines() if x.startswith("{")]
    access = [x for x in lines if x["logger"] == "agentkeep.access"]
    first = next(x for x in access if x["path"] == "/healthz" and x["request_id"] == "req-123")
    assert (first["route"], first["status"], first["method"]) == ("/healthz", 200, "GET")
    assert isinstance(first["latency_ms"], float)
    missing = next(x for x in access if x["path"] == "/tasks/name/nobody")
    assert (missing["route"], missing["status"]) == ("/tasks/name/{name}", 404)
    assert len(missing["request_id"]) == 32  # none sent: one was made up
    # uvicorn's own lines use the same format.
    assert any("Application startup complete" in x["message"] for x in lines)


async def test_access_log_is_off_by_default(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="agentkeep.access"):
        assert (await client.get("/healthz")).status_code == 200
    assert [r for r in caplog.records if r.name == "agentkeep.access"] == []


async def test_cors_only_for_configured_origins(settings: Settings, store: SqlStore) -> None:
    preflight = {
        "origin": "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-api-key",
    }
    async with running_app(create_app(settings, store=store)) as client:
        closed = await client.options("/tasks", headers=preflight)
        assert "access-control-allow-origin" not in closed.headers
    opened = settings.model_copy(update={"cors_origins": "https://app.example.com"})
    async with running_app(create_app(opened, store=store)) as client:
        allowed = await client.options("/tasks", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        other = await client.options("/tasks", headers={**preflight, "origin": "https://evil"})
        assert "access-control-allow-origin" not in other.headers


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    """A Redis of this test's own on a free port (stopped and restarted by the test)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    yield port, procs
    for proc in procs:
        proc.kill()
        proc.wait()


def start_redis(port: int, procs: list[subprocess.Popen[bytes]]) -> None:
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    procs.append(subprocess.Popen([*args, "--appendonly", "no"], stdout=subprocess.DEVNULL))
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout != (
        b"PONG\n"
    ):
        assert time.monotonic() < deadline, "private redis did not start"
        time.sleep(0.05)


async def test_a_dependency_outage_is_logged_once_and_its_recovery_too(
    private_redis: tuple[int, list[subprocess.Popen[bytes]]], caplog: pytest.LogCaptureFixture
) -> None:
    from prometheus_client import CollectorRegistry

    port, procs = private_redis
    start_redis(port, procs)
    bus = RedisStreamsBus(f"redis://127.0.0.1:{port}/0", maxlen=10, ttl_seconds=10)
    metrics = Metrics(CollectorRegistry())
    dog = watchdog.Watchdog({"redis": bus.ping}, metrics.dependency_up, 1.0)
    try:
        with caplog.at_level(logging.INFO, logger="agentkeep.watchdog"):
            await dog.check("redis")
            procs[-1].kill()
            procs[-1].wait()
            await dog.check("redis")
            await dog.check("redis")  # still down: not logged again
            assert metrics.dependency_up.labels("redis")._value.get() == 0
            start_redis(port, procs)
            await dog.check("redis")
    finally:
        await bus.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "agentkeep.watchdog"]
    assert len(messages) == 2
    assert messages[0].startswith("redis unreachable")
    assert messages[1].startswith("redis reachable again after")
    assert metrics.dependency_up.labels("redis")._value.get() == 1


async def test_a_probe_failing_after_its_timeout_is_reported_once_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from prometheus_client import CollectorRegistry

    async def late_failure() -> None:
        await asyncio.sleep(watchdog.CHECK_TIMEOUT_SECONDS + 0.2)
        raise ConnectionError("pool ran dry")

    metrics = Metrics(CollectorRegistry())
    dog = watchdog.Watchdog({"redis": late_failure}, metrics.dependency_up, 1.0)
    with caplog.at_level(logging.INFO):
        await dog.check("redis")  # times out: reported as unreachable
        await asyncio.wait(set(dog.pending))  # then fails, left to finish
        gc.collect()  # asyncio reports unretrieved exceptions when the task is collected
    messages = [(r.name, r.getMessage()) for r in caplog.records]
    assert messages == [
        ("agentkeep.watchdog", "redis unreachable: TimeoutError: no answer in 2.0s")
    ]
