"""What operators see of the scheduler in ``/metrics`` (the app's own registry)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Fire lag buckets: a healthy fire starts within tens of milliseconds of its time.
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


@dataclass(frozen=True, slots=True)
class SchedulerMetrics:
    schedules: Gauge
    fires: Counter
    lag: Histogram
    failures: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> SchedulerMetrics:
        return cls(
            schedules=Gauge(
                "agentkeep_schedules",
                "Live run schedules by state (recounted every few seconds)",
                ["state"],
                registry=registry,
            ),
            fires=Counter(
                "agentkeep_schedule_fires",
                "Schedule fires this process ended, by trigger type and outcome",
                ["trigger_type", "status"],
                registry=registry,
            ),
            lag=Histogram(
                "agentkeep_schedule_fire_lag_seconds",
                "Claim time minus nominal time of the fires this process claimed",
                buckets=LAG_BUCKETS,
                registry=registry,
            ),
            failures=Counter(
                "agentkeep_schedule_fire_attempt_failures",
                "Failed fire attempts (each is retried with backoff up to five attempts)",
                registry=registry,
            ),
        )
