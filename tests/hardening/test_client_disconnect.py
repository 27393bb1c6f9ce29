"""A client that hangs up before its request body arrives is routine on a busy server: one
debug line per request, never "unhandled error" with a traceback, and counted as 499, not
as a 500 (issue 14). A real ``agentkeep serve``, raw sockets that send the headers and part
of the body, then close."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ServerProcess, start_server, stop_server

LINE = "client left before sending its body"
#: Debug level, so that the line is there to count; JSON, so that it can be read.
LOGS = {"AGENTKEEP_LOG_LEVEL": "debug", "AGENTKEEP_LOG_FORMAT": "json"}


def _hang_up(server: ServerProcess, path: str, *, chunked: bool) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: 1000"
    head = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
    head += b"Content-Type: application/json\r\n" + length + b"\r\n\r\n"
    body = b'5\r\n{"jso' if chunked else b'{"jsonrpc": '
    with socket.create_connection((host, int(port))) as s:
        s.sendall(head + body)


def _records(server: ServerProcess) -> list[dict[str, Any]]:
    """The server's JSON log lines (the CLI's own notes before them are plain text)."""
    lines = server.output().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _gone(server: ServerProcess, expected: int) -> list[dict[str, Any]]:
    """The disconnect lines, once there are ``expected`` of them (the server logs each
    when it notices the hang-up, a moment after the client closed)."""
    deadline = time.monotonic() + 30
    while True:
        found = [r for r in _records(server) if r["message"].startswith(LINE)]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_client_hanging_up_mid_body_is_one_debug_line(db_url: str, tmp_path: Path) -> None:
    env = {"AGENTKEEP_DATABASE_URL": db_url, **LOGS}
    server = start_server(env, tmp_path / "serve.log", cwd=tmp_path)
    try:
        agent = {"name": "hangup", "acp_url": "http://127.0.0.1:9", "acp_type": "sync"}
        assert httpx.post(f"{server.url}/agents/register", json=agent).status_code == 200
        rpc = "/agents/name/hangup/rpc"
        # The RPC route reads its body itself, /agents/register through FastAPI; a chunked
        # body is read ahead by the body limit.
        cases = [(rpc, False), ("/agents/register", False), (rpc, True)]
        for path, chunked in cases:
            _hang_up(server, path, chunked=chunked)
        gone = _gone(server, len(cases))
        metrics = httpx.get(f"{server.url}/metrics").text
    finally:
        stop_server(server)
    assert sorted(r["message"] for r in gone) == sorted(f"{LINE}: POST {p}" for p, _ in cases)
    assert {(r["level"], r["logger"]) for r in gone} == {("debug", "agentkeep.app")}
    records = _records(server)
    assert [r for r in records if r["level"] in ("error", "critical") or "error" in r] == []
    counted = {
        (s.labels["route"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "agentkeep_http_requests_total" and s.labels["method"] == "POST"
    }
    assert counted == {
        ("/agents/name/{name}/rpc", "499"): 2,
        ("/agents/register", "499"): 1,
        ("/agents/register", "200"): 1,
    }
