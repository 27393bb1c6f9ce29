"""``serve --workers 2``: ``/metrics`` from either worker reports the sum over both."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import service_url, start_server, stop_server

#: The route counted (not /healthz, which start_server polls).
ROUTE = "/readyz"
READYZ = {"method": "GET", "route": ROUTE, "status": "200"}


def readyz_count(metrics: list[object]) -> float:
    return sum(
        s.value
        for family in metrics
        for s in family.samples  # type: ignore[attr-defined]
        if s.name == "agentkeep_http_requests_total" and s.labels == READYZ
    )


def per_worker(directory: Path) -> dict[str, float]:
    """Each worker's own /readyz count, read from its sample file."""
    return {
        path.stem.split("_")[-1]: readyz_count(
            list(MultiProcessCollector.merge([str(path)], accumulate=True))
        )
        for path in directory.glob("counter_*.db")
    }


def settled(directory: Path, sent: int) -> dict[str, float]:
    """Per-worker counts once they add up to ``sent``: a request is counted just after its
    response went out, so the last few may land a moment after the client has them."""
    deadline = time.monotonic() + 30
    while (counts := per_worker(directory)) and sum(counts.values()) < sent:
        assert time.monotonic() < deadline, counts
        time.sleep(0.05)
    assert sum(counts.values()) == sent
    return counts


def test_metrics_add_up_across_workers(db_url: str, tmp_path: Path) -> None:
    samples = tmp_path / "metrics"
    env = {
        "AGENTKEEP_DATABASE_URL": db_url,
        "AGENTKEEP_REDIS_URL": service_url("TEST_REDIS_URL"),
        "PROMETHEUS_MULTIPROC_DIR": str(samples),
    }
    server = start_server(env, tmp_path / "serve.log", "--workers", "2", cwd=tmp_path)
    sent = 0
    try:
        # New connections in parallel until both workers have answered some (the kernel
        # picks the worker per connection).
        with ThreadPoolExecutor(8) as pool:
            while sent < 2000:
                codes = list(
                    pool.map(lambda _: httpx.get(server.url + ROUTE).status_code, range(40))
                )
                assert set(codes) == {200}
                sent += len(codes)
                counts = settled(samples, sent)
                if len([c for c in counts.values() if c > 0]) >= 2:
                    break
        for _ in range(4):  # whichever worker answers the scrape
            text = httpx.get(f"{server.url}/metrics").text
            assert readyz_count(list(text_string_to_metric_families(text))) == sent
    finally:
        stop_server(server)
