"""The operator CLI against a real ``agentkeep serve`` process, on both backends.

SQLite runs with the in-process bus, PostgreSQL with Redis Streams: the two ways agentkeep
is deployed. Every command runs as a real ``python -m agentkeep`` process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acp_kit import AgentProcess, spawn_agent, wait_registered
from tests.conftest import ServerProcess, service_url, start_server, stop_server


@dataclass
class Cli:
    """Runs ``agentkeep …`` against one server."""

    server: ServerProcess
    env: dict[str, str]

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentkeep", *args],
            env={**clean_env(), "AGENTKEEP_SERVER": self.server.url, **(env or {})},
            capture_output=True,
            text=True,
            timeout=90,
        )

    def json(self, *args: str) -> Any:
        """Run with ``--json``; the command must succeed and print one JSON document."""
        result = self.run(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "agentkeep", *args],
            env={**clean_env(), "AGENTKEEP_SERVER": self.server.url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=30)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AGENTKEEP_")}


def one_line(stderr: str) -> str:
    """The only non-blank line of ``stderr`` (a failing command prints exactly one)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def server_env(db_url: str) -> dict[str, str]:
    """SQLite with the in-process bus; PostgreSQL with Redis."""
    env = {
        "AGENTKEEP_DATABASE_URL": db_url,
        "AGENTKEEP_SSE_PING_SECONDS": "0.5",
        "AGENTKEEP_SHUTDOWN_GRACE_SECONDS": "1",
    }
    if db_url.startswith("postgresql"):
        env["AGENTKEEP_REDIS_URL"] = service_url("TEST_REDIS_URL")
    return env


@pytest.fixture
def cli(server_env: dict[str, str], tmp_path: Path) -> Iterator[Cli]:
    server = start_server(server_env, tmp_path / "server.log", cwd=tmp_path)
    made = Cli(server, server_env)
    yield made
    stop_server(made.server)


@pytest.fixture
def agents(cli: Cli, tmp_path: Path) -> Iterator[Any]:
    """Start real example agents (``kind`` sync or async) registered with the server."""
    started: list[AgentProcess] = []

    def start(kind: str) -> str:
        name = f"{'echo' if kind == 'sync' else 'greeter'}-{uuid.uuid4().hex[:6]}"
        agent = spawn_agent(cli.server.url, name, kind, tmp_path / f"{name}.log")
        started.append(agent)
        wait_registered(agent)
        return name

    yield start
    for agent in started:
        agent.stop()
