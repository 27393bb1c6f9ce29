"""A real LangGraph agent on agentex-sdk's ``HttpCheckpointSaver`` (``adk.create_checkpointer()``)
against a live server: two runs continue one thread, and after a server restart a fresh
saver reads the same state back.

agentex-sdk needs Python 3.12, so the graph runs in the virtualenv that ``.ci/sdk-venv``
creates and caches; ``TEST_SDK_PYTHON`` names its interpreter (``.ci/run`` sets it; unset
means skipped on a developer machine and a failure under CI).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess, service_url, start_server, stop_server

SCRIPT = Path(__file__).with_name("sdk_graph.py")
OPS_KEY = "ops-key-0123456789"


class Graph:
    """The graph script in the SDK's interpreter, answering one command at a time."""

    def __init__(self, python: str, base_url: str, agent: Agent, log: Path) -> None:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            # What a deployed SDK agent has in its environment.
            "AGENTEX_BASE_URL": base_url,
            "AGENT_API_KEY": agent.key,
            "AGENT_NAME": agent.name,
            "ACP_URL": "http://127.0.0.1:9",
            # litellm (an SDK dependency) fetches a price list at import unless told not to.
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [python, str(SCRIPT)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )

    def __call__(self, mode: str, thread: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{mode} {thread}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, self.log.read_text(errors="replace")[-4000:]
        return json.loads(line)

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()  # end of commands: the script exits
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            # The answers are all in; an SDK import that is slow to shut down is not ours.
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


@dataclass(frozen=True)
class Agent:
    name: str
    key: str


def agent_and_task(server: ServerProcess) -> tuple[Agent, str]:
    """An agent's key and a task of that agent: the thread, as the SDK templates use it."""
    ops = {"authorization": f"Bearer {OPS_KEY}"}
    name = f"lg-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "acp_url": "http://127.0.0.1:9", "acp_type": "sync"}
    r = httpx.post(f"{server.url}/agents/register", json=body, headers=ops, timeout=30)
    assert r.status_code == 200, r.text
    key = r.json()["agent_api_key"]
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}
    r = httpx.post(f"{server.url}/agents/name/{name}/rpc", json=rpc, headers=ops, timeout=30)
    assert r.status_code == 200 and r.json()["error"] is None, r.text
    return Agent(name, key), r.json()["result"]["id"]


# One interpreter importing the whole SDK (slow), and two server starts.
@pytest.mark.timeout(600)
def test_langgraph_agent_persists_through_the_sdk_saver(db_url: str, tmp_path: Path) -> None:
    python = service_url("TEST_SDK_PYTHON")
    env = {"AGENTKEEP_DATABASE_URL": db_url, "AGENTKEEP_API_KEYS": f"ops:{OPS_KEY}"}
    server = start_server(env, tmp_path / "server.log")
    graph: Graph | None = None
    try:
        agent, thread = agent_and_task(server)
        graph = Graph(python, server.url, agent, tmp_path / "graph.log")
        first = graph("run", thread)
        assert first == {"count": 1, "log": ["input", "step 1", "STEP 1"]}
        second = graph("run", thread)
        assert second == {"count": 2, "log": [*first["log"], "input", "step 2", "STEP 2"]}
        before = graph("read", thread)
        assert before["values"] == second and before["next"] == []
        assert before["checkpoints"] == sorted(before["checkpoints"], reverse=True)
        stop_server(server)
        port = int(server.url.rsplit(":", 1)[1])
        server = start_server(env, tmp_path / "restarted.log", port=port)
        assert graph("read", thread) == before
    finally:
        if graph is not None:
            graph.close()
        stop_server(server)
