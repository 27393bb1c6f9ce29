"""What a newcomer hits when starting things in the wrong order or twice: one line each,
never a traceback, and nothing changed on disk."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.acp_kit import spawn_agent, wait_registered
from tests.cli.conftest import clean_env, one_line
from tests.conftest import free_port, start_server, stop_server
from tests.test_cli import run_cli


def test_a_busy_port_is_refused_before_migrations(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 1
    assert f"port {port}" in one_line(result.stderr)
    assert not (tmp_path / "agentkeep.db").exists()


def test_a_second_server_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    first = start_server(clean_env(), tmp_path / "first.log", cwd=tmp_path)
    try:
        second = run_cli("serve", "--port", str(free_port()), cwd=tmp_path)
        assert second.returncode == 1
        line = one_line(second.stderr)
        assert "another agentkeep serve" in line and "AGENTKEEP_REDIS_URL" in line
    finally:
        stop_server(first)
    # The lock goes with the process that held it.
    again = start_server(clean_env(), tmp_path / "again.log", cwd=tmp_path)
    stop_server(again)


def test_a_bad_sqlite_path_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/missing/dir/agentkeep.db"
    for command in (["migrate"], ["serve", "--port", str(free_port())]):
        result = run_cli(*command, cwd=tmp_path, env={"AGENTKEEP_DATABASE_URL": url})
        assert result.returncode == 1
        assert "directory" in one_line(result.stderr) and "does not exist" in result.stderr


def test_an_unreadable_sqlite_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "agentkeep.db").write_bytes(b"this is not a database" * 100)
    result = run_cli("migrate", cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot reach the database" in one_line(result.stderr)


def test_example_agent_waits_for_the_server_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    agent = spawn_agent(f"http://127.0.0.1:{port}", "early-bird", "sync", tmp_path / "a.log")
    server = None
    try:
        deadline = time.monotonic() + 30
        while "waiting for the agentkeep server" not in agent.output():
            assert agent.proc.poll() is None, agent.output()
            assert time.monotonic() < deadline, agent.output()
            time.sleep(0.05)
        server = start_server(clean_env(), tmp_path / "s.log", cwd=tmp_path, port=port)
        wait_registered(agent)
        found = httpx.get(f"{server.url}/agents/name/early-bird").json()
        assert found["status"] == "Ready"
        assert "Traceback" not in agent.output()
    finally:
        agent.stop()
        if server is not None:
            stop_server(server)


def run_agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkeep", "example-agent", *args],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_example_agent_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_agent("--name", "x", "--port", str(port), "--wait", "0")
    assert result.returncode == 1
    assert "already in use" in one_line(result.stderr)


def test_example_agent_with_a_refused_name_is_one_line(tmp_path: Path) -> None:
    server = start_server(clean_env(), tmp_path / "s.log", cwd=tmp_path)
    try:
        result = run_agent(
            "--name", "Not A Valid Name!", "--port", str(free_port()), "--server", server.url
        )
    finally:
        stop_server(server)
    assert result.returncode == 1
    assert "refused to register agent" in one_line(result.stderr)


def test_example_agent_gives_up_after_waiting(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = run_agent(
        "--name", "x", "--port", str(free_port()), "--server", nowhere, "--wait", "1"
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "waiting for the agentkeep server" in lines[0]
    assert "did not answer within 1s" in lines[-1] and len(lines) == 2
