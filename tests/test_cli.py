"""The ``agentkeep`` command as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import free_port, service_url, start_server, stop_server


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AGENTKEEP_")}
    return subprocess.run(
        [sys.executable, "-m", "agentkeep", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_with_no_configuration_uses_a_sqlite_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTKEEP_")}
    server = start_server(env, tmp_path / "serve.log", cwd=tmp_path)
    try:
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
        r = httpx.post(
            f"{server.url}/agents/register",
            json={"name": "a", "acp_url": "http://x", "acp_type": "sync"},
        )
        assert r.status_code == 200
    finally:
        stop_server(server)
    assert (tmp_path / "agentkeep.db").exists()
    assert "migrations: 1 applied" in server.output() or "migrations:" in server.output()


def test_workers_without_redis_is_refused_in_one_line(tmp_path: Path) -> None:
    result = run_cli("serve", "--workers", "2", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "AGENTKEEP_REDIS_URL" in lines[0]
    assert not (tmp_path / "agentkeep.db").exists()


def test_migrate_then_up_to_date(tmp_path: Path) -> None:
    first = run_cli("migrate", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stderr
    again = run_cli("migrate", cwd=tmp_path)
    assert again.returncode == 0 and "up to date" in again.stderr


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("migrate", cwd=tmp_path, env={"AGENTKEEP_DATABASE_URL": "mysql://x"})
    assert result.returncode == 2
    assert "AGENTKEEP_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_sigterm_with_a_viewer_connected_still_stops(tmp_path: Path) -> None:
    env = {"AGENTKEEP_SHUTDOWN_GRACE_SECONDS": "1", "AGENTKEEP_SSE_PING_SECONDS": "0.2"}
    server = start_server(env, tmp_path / "serve.log", cwd=tmp_path)
    try:
        agent = httpx.post(
            f"{server.url}/agents/register",
            json={"name": "a", "acp_url": "http://x", "acp_type": "sync"},
        ).json()
        task = httpx.post(
            f"{server.url}/agents/{agent['id']}/rpc",
            json={"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}},
        ).json()["result"]
        with httpx.stream("GET", f"{server.url}/tasks/{task['id']}/stream", timeout=30) as viewer:
            next(viewer.iter_lines())  # the viewer is connected and reading
            server.proc.terminate()
            # A stream never ends by itself: the grace period must bound the shutdown, and
            # the lifespan must still run (uvicorn then re-raises SIGTERM: status -15).
            server.proc.wait(timeout=20)
    finally:
        stop_server(server)
    assert "Application shutdown complete" in server.output()


def test_several_workers_share_one_database_and_bus(db_url: str, tmp_path: Path) -> None:
    env = {"AGENTKEEP_DATABASE_URL": db_url, "AGENTKEEP_REDIS_URL": service_url("TEST_REDIS_URL")}
    server = start_server(env, tmp_path / "serve.log", "--workers", "2", cwd=tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            agent = http.post(
                "/agents/register", json={"name": "w", "acp_url": "http://x", "acp_type": "sync"}
            ).json()
            tasks = [
                http.post(
                    f"/agents/{agent['id']}/rpc",
                    json={"jsonrpc": "2.0", "id": n, "method": "task/create", "params": {}},
                ).json()["result"]
                for n in range(20)
            ]
            # Whichever worker answers, every task is there and changes exactly once.
            codes = [http.post(f"/tasks/{t['id']}/complete").status_code for t in tasks]
            again = [http.post(f"/tasks/{t['id']}/complete").status_code for t in tasks]
            assert (set(codes), set(again)) == ({200}, {400})
            assert all(http.get(f"/tasks/{t['id']}").json()["status"] == "COMPLETED" for t in tasks)
    finally:
        stop_server(server)
    assert server.output().count("Application startup complete") == 2
