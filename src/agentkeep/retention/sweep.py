"""The retention sweep (Agentex runs it from a Temporal schedule): on
``AGENTKEEP_RETENTION_SWEEP_CRON`` (UTC), clean the idle tasks of the agents named in
``AGENTKEEP_RETENTION_AGENTS``.

Every process runs the loop; a ``system_jobs`` row claimed by compare-and-set makes each
due run happen in one process only. The sweep never forces: each task goes through the
same clean as ``POST /tasks/{id}/clean`` (idle check included), except that RUNNING
tasks idle ``RETENTION_STALE_RUNNING_DAYS`` count as abandoned. With ``RETENTION_DRY_RUN``
(the default) each clean runs and is rolled back: the log says what would go.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from croniter import croniter

from agentkeep import background, errors
from agentkeep.domain import models, status
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from agentkeep.store.system_jobs import days_before

log = logging.getLogger(__name__)

JOB = "retention_sweep"
#: How often each process looks whether the sweep is due.
POLL_SECONDS = 30.0


def next_run(cron: str, after: datetime) -> datetime:
    """The first cron time after ``after`` (UTC)."""
    value: datetime = croniter(cron, after).get_next(datetime)
    return models.as_utc(value)


def agent_names(settings: Settings) -> list[str]:
    return [n.strip() for n in settings.retention_agents.split(",") if n.strip()]


async def sweep_once(store: SqlStore, settings: Settings, now: datetime) -> dict[str, Any] | None:
    """Run the sweep if it is due and this process wins it; the summary, else None."""
    assert settings.retention_sweep_cron is not None
    if not await store.claim_system_job(JOB, now, next_run(settings.retention_sweep_cron, now)):
        return None
    summary = await clean_idle(store, settings, now)
    await store.record_system_job(JOB, summary)
    log.info("retention sweep: %s", summary)
    return summary


async def clean_idle(store: SqlStore, settings: Settings, now: datetime) -> dict[str, Any]:
    names = agent_names(settings)
    stale = settings.retention_stale_running_days
    candidates = (
        await store.retention_candidates(
            names,
            days_before(now, settings.retention_idle_days),
            days_before(now, stale) if stale else None,
        )
        if names
        else []
    )
    summary: dict[str, Any] = {"dry_run": settings.retention_dry_run, "cleaned": [], "refused": {}}
    for task in candidates:
        abandoned = task["status"] in status.NON_TERMINAL
        try:
            await store.clean_task(
                task["id"],
                force=False,
                idle_days=stale if abandoned else settings.retention_idle_days,
                now=now,
                abandoned=abandoned,
                dry_run=settings.retention_dry_run,
            )
        except errors.ClientError as exc:
            summary["refused"][task["id"]] = exc.message
            continue
        summary["cleaned"].append(task["id"])
    return summary


async def run(store: SqlStore, settings: Settings, stop: asyncio.Event) -> None:
    """The loop: look every ``POLL_SECONDS`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            await sweep_once(store, settings, models.utcnow())
        except Exception:
            # A failed pass must not end the loop; the next due time tries again.
            log.exception("retention sweep failed")
        await background.idle(stop, POLL_SECONDS)
