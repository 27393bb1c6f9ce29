"""Real ``agentkeep serve`` processes for fault tests: start, kill -9, restart in place."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
from tests.conftest import free_port
from tests.reliability.services import wait_for

START_TIMEOUT_SECONDS = 60.0


class Server:
    """One ``agentkeep serve`` process; ``restart`` brings it back on the same port."""

    def __init__(
        self, env: dict[str, str], log: Path, *, nofile: tuple[int, int] | None = None
    ) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTKEEP_")}
        self.env.update(env)
        self.port = free_port()
        self.env["AGENTKEEP_PORT"] = str(self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.nofile = nofile
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def _limits(self) -> None:
        if self.nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile)

    def start(self) -> Server:
        self.runs += 1
        with self.log.open("ab") as out:
            out.write(f"\n===== run {self.runs}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentkeep", "serve"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=self._limits if self.nofile else None,
            )
        # One client for the wait: each ``httpx.get`` would load a TLS context (~40 ms).
        with httpx.Client(timeout=1) as http:
            wait_for(
                lambda: self._healthy(http), START_TIMEOUT_SECONDS, f"the server on {self.url}"
            )
        return self

    def _healthy(self, http: httpx.Client) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{self.output()}")
        with contextlib.suppress(httpx.HTTPError):
            return http.get(f"{self.url}/healthz").status_code == 200
        return False

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def terminate(self, timeout: float = 60) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def register_agent(http: httpx.Client, name: str) -> dict[str, Any]:
    r = http.post(
        "/agents/register", json={"name": name, "acp_url": "http://127.0.0.1:9", "acp_type": "sync"}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def create_task(http: httpx.Client, agent_id: str, **params: Any) -> dict[str, Any]:
    r = http.post(
        f"/agents/{agent_id}/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": params},
    )
    assert r.status_code == 200 and r.json()["error"] is None, r.text
    return dict(r.json()["result"])


class SseFrame:
    def __init__(self, event: str | None, entry_id: str | None, data: dict[str, Any]) -> None:
        self.event = event
        self.id = entry_id
        self.data = data


def frames(lines: Iterator[str]) -> Iterator[SseFrame]:
    """Parse SSE lines into frames (comments skipped)."""
    event: str | None = None
    entry_id: str | None = None
    data: list[str] = []
    for line in lines:
        if line.startswith(":"):
            continue
        if line == "":
            if data:
                yield SseFrame(event, entry_id, orjson.loads("\n".join(data)))
            event, entry_id, data = None, None, []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "id":
            entry_id = value
        elif field == "event":
            event = value


def read_stream(
    url: str,
    headers: dict[str, str] | None = None,
    *,
    until: Callable[[SseFrame], bool] | None = None,
    timeout: float = 30,
) -> tuple[int, list[SseFrame]]:
    """Read a stream to its end (or until ``until`` holds for a frame)."""
    got: list[SseFrame] = []
    with httpx.stream("GET", url, headers=headers, timeout=timeout) as r:
        if r.status_code != 200:
            return r.status_code, got
        for frame in frames(r.iter_lines()):
            got.append(frame)
            if until is not None and until(frame):
                break
    return 200, got
