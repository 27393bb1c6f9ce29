"""Single-event latency: ``POST /complete`` → ``task_updated`` frame, and one change
delivered to N viewers of one task (fan-out), with what the server holds meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import queue
import resource
import statistics
import time
from typing import Any

import httpx

from bench.servers import Server


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _read_until(reader: asyncio.StreamReader, needle: bytes) -> None:
    buffer = b""
    while needle not in buffer:
        chunk = await reader.read(65536)
        if not chunk:
            raise ConnectionError(f"the server closed the connection before {needle!r}")
        buffer = buffer[-256:] + chunk


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    """One HTTP/1.1 response with a Content-Length (what the server sends for a POST)."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"the complete request failed: {head[:200]!r}")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return await reader.readexactly(length)


async def _frame_latency(url: str, agent: str, rounds: int) -> list[float]:
    """Raw HTTP/1.1 over asyncio streams for the timed part: an HTTP client library spends
    a millisecond or so of its own per request, which would be counted as the server's."""
    host, port = url.removeprefix("http://").split(":")
    out: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        poster_r, poster_w = await asyncio.open_connection(host, int(port))
        for _ in range(rounds):
            body = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}
            task = (await c.post(f"/agents/name/{agent}/rpc", json=body)).json()["result"]
            viewer_r, viewer_w = await asyncio.open_connection(host, int(port))
            viewer_w.write(
                f"GET /tasks/{task['id']}/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            )
            await _read_until(viewer_r, b"connected")
            payload = b'{"reason": "bench"}'
            request = (
                f"POST /tasks/{task['id']}/complete HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
            ).encode() + payload
            start = time.perf_counter()
            poster_w.write(request)
            await _read_until(viewer_r, b"task_updated")
            out.append((time.perf_counter() - start) * 1000)
            await _read_response(poster_r)
            viewer_w.close()
        poster_w.close()
    return out


def frame_latency(srv: Server, agent: str, rounds: int) -> dict[str, float]:
    """Sequential rounds: p50/p99 in ms, the complete request included."""
    samples = asyncio.run(_frame_latency(srv.url, agent, rounds))
    return {"p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99), "n": len(samples)}


# ---------------------------------------------------------------------------- fan-out


def _raise_nofile() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _viewers(
    host: str, port: int, task_id: str, count: int, ready: Any, marker: str
) -> list[float]:
    request = f"GET /tasks/{task_id}/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    seen: list[float] = []

    async def one() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        await writer.drain()
        buffer = b""
        while b"connected" not in buffer:
            chunk = await reader.read(4096)
            if not chunk:  # refused (a 503 at the connection limit, say): not a viewer
                raise ConnectionError(f"the server closed a viewer: {buffer[:200]!r}")
            buffer += chunk
        ready.put(1)
        buffer = b""
        while marker.encode() not in buffer:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buffer = buffer[-256:] + chunk
        seen.append(time.time())
        writer.close()

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), 120)
    return seen


def _viewer_process(
    url: str, task_id: str, count: int, ready: Any, results: Any, marker: str
) -> None:
    _raise_nofile()
    host, port = url.removeprefix("http://").split(":")
    try:
        results.put(asyncio.run(_viewers(host, int(port), task_id, count, ready, marker)))
    except Exception as exc:  # reported to the parent, which fails the phase
        results.put(repr(exc))


def _await_ready(ready: Any, results: Any, viewers: int, timeout: float = 120) -> None:
    """Wait for every viewer's ``connected``; a viewer process that failed meanwhile fails
    the phase at once, with its error (else the phase would only time out, saying nothing)."""
    deadline = time.monotonic() + timeout
    connected = 0
    while connected < viewers:
        try:
            ready.get(timeout=1)
            connected += 1
            continue
        except queue.Empty:
            pass
        with contextlib.suppress(queue.Empty):
            got = results.get_nowait()
            raise RuntimeError(f"a viewer process failed: {got}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{connected} of {viewers} viewers connected in {timeout:.0f} s")


def fanout(srv: Server, agent: str, viewers: int, processes: int = 4) -> dict[str, float]:
    """Open ``viewers`` streams on one task from ``processes`` client processes, make one
    change, and time its arrival at each viewer (same host, same clock)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}
    task = httpx.post(f"{srv.url}/agents/name/{agent}/rpc", json=body, timeout=30).json()["result"]
    marker = f"fanout-{time.time_ns()}"
    idle_files = srv.open_files()
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    share = [viewers // processes + (i < viewers % processes) for i in range(processes)]
    procs = [
        ctx.Process(target=_viewer_process, args=(srv.url, task["id"], n, ready, results, marker))
        for n in share
        if n
    ]
    for p in procs:
        p.start()
    _await_ready(ready, results, viewers)
    held = {"server_rss_mb": srv.rss_mb(), "server_open_files": srv.open_files()}
    # The client is built before the clock starts: making one loads a TLS context, tens
    # of milliseconds that are not the server's.
    with httpx.Client(timeout=30) as http:
        http.get(f"{srv.url}/healthz")
        sent = time.time()
        http.put(f"{srv.url}/tasks/{task['id']}", json={"task_metadata": {"m": marker}})
    arrivals: list[float] = []
    for _ in procs:
        got = results.get(timeout=180)
        if isinstance(got, str):
            raise RuntimeError(f"a viewer process failed: {got}")
        arrivals.extend(got)
    for p in procs:
        p.join(30)
    srv.settle(idle_files + 16)
    delays = [(t - sent) * 1000 for t in arrivals]
    return {
        "viewers": viewers,
        "delivered": len(delays),
        "p50_ms": percentile(delays, 50),
        "p99_ms": percentile(delays, 99),
        "mean_ms": statistics.fmean(delays) if delays else float("nan"),
        **held,
    }
