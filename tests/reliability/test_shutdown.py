"""SIGTERM or Ctrl-C with viewers connected: streams end at once with a final frame, the
process exits well within the grace, and nothing logs a traceback."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import pytest
from tests.reliability.kit import Server, SseFrame, create_task, frames, register_agent

pytestmark = pytest.mark.timeout(300)

VIEWERS = 3
#: Far longer than the exit may take: a shutdown that waits for the grace fails the test.
GRACE_SECONDS = 120
EXIT_WITHIN_SECONDS = 60


def _view(url: str, got: list[SseFrame], connected: threading.Event) -> None:
    try:
        with httpx.stream("GET", url, timeout=GRACE_SECONDS * 2) as r:
            for frame in frames(r.iter_lines()):
                got.append(frame)
                connected.set()
    except httpx.TransportError as exc:  # cut without a final frame: the test fails below
        got.append(SseFrame(None, None, {"type": type(exc).__name__}))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_shutdown_ends_open_streams_at_once(
    sig: signal.Signals, sqlite_url: str, servers: list[Server], tmp_path: Path
) -> None:
    env = {
        "AGENTKEEP_DATABASE_URL": sqlite_url,
        "AGENTKEEP_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
    }
    server = Server(env, tmp_path / "server.log")
    servers.append(server)
    server.start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        agent = register_agent(http, "bye")
        task = create_task(http, agent["id"])
    seen: list[list[SseFrame]] = [[] for _ in range(VIEWERS)]
    connected = [threading.Event() for _ in range(VIEWERS)]
    threads = [
        threading.Thread(target=_view, args=(f"{server.url}/tasks/{task['id']}/stream", g, c))
        for g, c in zip(seen, connected, strict=True)
    ]
    for t in threads:
        t.start()
    for c in connected:
        assert c.wait(30)
    assert server.proc is not None
    server.proc.send_signal(sig)
    server.proc.wait(EXIT_WITHIN_SECONDS)
    for t in threads:
        t.join(EXIT_WITHIN_SECONDS)
    for got in seen:
        assert [f.data.get("type") for f in got] == ["connected", "error"]
        assert got[-1].data["message"] == "server shutting down; reconnect"
    output = server.output()
    assert "Application shutdown complete" in output
    assert "Traceback" not in output and "CancelledError" not in output
