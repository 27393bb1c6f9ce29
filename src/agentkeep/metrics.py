"""What ``/metrics`` exposes: one ``Metrics`` object per app, handed to whatever counts.

With one server process the metrics live in the app's own registry. With ``serve --workers
N`` every worker writes its samples to files under ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode, set up by ``serve``) and whichever worker answers
``/metrics`` sums the files of all workers: counters and histograms add up, the viewer gauge
is the sum over live workers, the outbox gauges are the most recent reading (they describe
the shared database, not a process).
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.utils import floatToGoString

from agentkeep.store.rows import TaskRow

#: The route label of requests that matched no route: one series, not one per stray path.
UNMATCHED = "(unmatched)"
#: Where a middleware answering before routing names the route it answered for.
ROUTE_KEY = "agentkeep.route"

#: Seconds; an agent's streamed turn can take minutes.
AGENT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

REQUESTS = ("agentkeep_http_requests", "HTTP requests", ["method", "route", "status"])
LATENCY = (
    "agentkeep_http_request_duration_seconds",
    "HTTP request latency (SSE streams: the connection's lifetime)",
    ["method", "route"],
)
_BOUNDS = Histogram.DEFAULT_BUCKETS
_LE = [floatToGoString(b) for b in _BOUNDS]


class RequestStats:
    """The two per-request metrics (``REQUESTS``, ``LATENCY``) counted in plain Python and
    turned into samples when scraped: the series prometheus-client's Counter and Histogram
    would expose, ``_created`` included.

    Every request is observed, the lightest too, and those classes take a lock per update
    and walk the buckets in Python: ~9 µs a request, a sixth of the CPU the whole stack
    spends on ``/healthz``. Here an update is a dict lookup and four additions, and no lock
    is needed: requests and scrapes all run on the event loop's thread. Not for ``serve
    --workers N``, where samples must reach prometheus-client's per-process files.
    """

    def __init__(self) -> None:
        # Per (method, route, status): [count, created, the (method, route) histogram],
        # a histogram being [count, sum, created, one count per bucket].
        self._series: dict[tuple[str, str, int], list[Any]] = {}
        self._histograms: dict[tuple[str, str], list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = self._new_series(method, route, status)
        series[0] += 1
        histogram = series[2]
        histogram[0] += 1
        histogram[1] += seconds
        histogram[3 + bisect_left(_BOUNDS, seconds)] += 1

    def _new_series(self, method: str, route: str, status: int) -> list[Any]:
        histogram = self._histograms.get((method, route))
        if histogram is None:
            histogram = [0, 0.0, time.time()] + [0] * len(_BOUNDS)
            self._histograms[method, route] = histogram
        series = self._series[method, route, status] = [0, time.time(), histogram]
        return series

    def collect(self) -> Iterator[Metric]:
        created = _created_series()
        requests = CounterMetricFamily(*REQUESTS[:2], labels=REQUESTS[2])
        for (method, route, status), (count, since, _) in self._series.items():
            requests.add_metric([method, route, str(status)], count, since if created else None)
        yield requests
        latency = HistogramMetricFamily(*LATENCY[:2], labels=LATENCY[2])
        for (method, route), (_, total, since, *buckets) in self._histograms.items():
            running, cumulative = 0.0, []
            for le, n in zip(_LE, buckets, strict=True):
                running += n
                cumulative.append((le, running))
            latency.add_metric([method, route], cumulative, total)
            if created:
                latency.add_sample(f"{LATENCY[0]}_created", dict(method=method, route=route), since)
        yield latency


def _created_series() -> bool:
    """prometheus-client's own switch for the ``_created`` series."""
    disabled = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False")
    return disabled.lower() not in ("true", "1", "t")


class Metrics:
    """Every metric of one app; the names are listed in the README."""

    def __init__(self, registry: CollectorRegistry, multiprocess_dir: str | None = None) -> None:
        self.registry = registry
        self.multiprocess_dir = multiprocess_dir
        r = registry
        self.request_stats: RequestStats | None = None
        if multiprocess_dir:
            self.requests = Counter(*REQUESTS, registry=r)
            self.latency = Histogram(*LATENCY, registry=r)
        else:
            self.request_stats = RequestStats()
            r.register(self.request_stats)
        self.changes = Counter(
            "agentkeep_task_changes", "Committed task changes by new status", ["status"], registry=r
        )
        self.sse_viewers = Gauge(
            "agentkeep_sse_viewers",
            "Open SSE task streams",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._register_background(r)
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _register_background(self, r: CollectorRegistry) -> None:
        """What the background work reports: outbox, agent calls, sweeper, dependencies."""
        self.outbox_backlog = Gauge(
            "agentkeep_outbox_backlog",
            "Task changes committed but not yet published on their stream",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.outbox_lag = Gauge(
            "agentkeep_outbox_oldest_age_seconds",
            "Age of the oldest unpublished change (relay lag); 0 when the outbox is empty",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.agent_calls = Counter(
            "agentkeep_agent_calls", "JSON-RPC calls to agents", ["method", "outcome"], registry=r
        )
        self.agent_latency = Histogram(
            "agentkeep_agent_call_duration_seconds",
            "JSON-RPC calls to agents, until the answer (or the stream) ended",
            ["method"],
            buckets=AGENT_BUCKETS,
            registry=r,
        )
        self.sweeper_timeouts = Counter(
            "agentkeep_sweeper_timeouts",
            "Tasks the deadline sweeper moved to TIMED_OUT",
            registry=r,
        )
        self.sweeper_failures = Counter(
            "agentkeep_sweeper_failures",
            "Deadline sweeps that failed (and were retried)",
            registry=r,
        )
        self.dependency_up = Gauge(
            "agentkeep_dependency_up",
            "1 while the database / Redis answers this process's checks, else 0",
            ["dependency"],
            registry=r,
            multiprocess_mode="livemin",
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        if self.request_stats is not None:
            self.request_stats.observe(method, route, status, seconds)
            return
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            # ``labels()`` takes a lock and builds a tuple each call: resolve once per series.
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    async def count_change(self, row: TaskRow, _change: Any) -> None:
        """The lifecycle's after-commit hook."""
        self.changes.labels(row["status"]).inc()

    def agent_call(self, method: str, ok: bool, seconds: float) -> None:
        self.agent_calls.labels(method, "ok" if ok else "error").inc()
        self.agent_latency.labels(method).observe(seconds)

    def swept(self, changed: int) -> None:
        if changed:
            self.sweeper_timeouts.inc(changed)

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type."""
        registry = self.registry
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)
        return generate_latest(registry), CONTENT_TYPE_LATEST
