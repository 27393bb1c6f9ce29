"""What ``/metrics`` exposes: one ``Metrics`` object per app, handed to whatever counts.

With one server process the metrics live in the app's own registry. With ``serve --workers
N`` every worker writes its samples to files under ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode, set up by ``serve``) and whichever worker answers
``/metrics`` sums the files of all workers: counters and histograms add up, the viewer gauge
is the sum over live workers, the outbox gauges are the most recent reading (they describe
the shared database, not a process).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from agentkeep.store.rows import TaskRow

#: The route label of requests that matched no route: one series, not one per stray path.
UNMATCHED = "(unmatched)"
#: Where a middleware answering before routing names the route it answered for.
ROUTE_KEY = "agentkeep.route"

#: Seconds; an agent's streamed turn can take minutes.
AGENT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    """Every metric of one app; the names are listed in the README."""

    def __init__(self, registry: CollectorRegistry, multiprocess_dir: str | None = None) -> None:
        self.registry = registry
        self.multiprocess_dir = multiprocess_dir
        r = registry
        self.requests = Counter(
            "agentkeep_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "agentkeep_http_request_duration_seconds",
            "HTTP request latency (SSE streams: the connection's lifetime)",
            ["method", "route"],
            registry=r,
        )
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
