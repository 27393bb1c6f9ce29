"""The scheduler loop every server process runs (platform.md, "The scheduler loop").

Each pass claims due schedules (one short transaction per row, see ``store.fires``), then
starts the fires that are runnable: its own new ones, pending ones whose backoff is over,
and running ones whose runner's lease ran out (a process that died mid-fire). Fires run
as tasks of this process, outside any transaction, holding a lease they renew. No leader:
any number of processes run the same loop against the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from agentkeep import background, errors
from agentkeep.domain.fires import FireStatus
from agentkeep.rpc.context import Services
from agentkeep.schedules import fire as fire_mod
from agentkeep.schedules import model
from agentkeep.schedules.metrics import SchedulerMetrics
from agentkeep.store.fires import Claim, Decide
from agentkeep.store.rows import FireRow, ScheduleRow

log = logging.getLogger(__name__)

Clock = Callable[[], Awaitable[datetime]]
#: Delays before attempts 2 to 5; the fifth failure is final.
RETRY_DELAYS = (2, 4, 8, 16)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: Due rows read per claim query, and how many such batches one pass may take.
CLAIM_BATCH = 20
CLAIM_BATCHES = 50
#: Fires one process runs at once (each mostly waits on an agent).
MAX_RUNNING = 64
#: How often the schedule gauges are recounted.
COUNT_SECONDS = 10.0


class Scheduler:
    def __init__(
        self,
        services: Services,
        metrics: SchedulerMetrics,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.services = services
        self.store = services.store
        settings = services.settings
        self.poll_seconds = settings.scheduler_poll_seconds
        self.catchup = timedelta(seconds=settings.schedule_catchup_seconds)
        self.lease = timedelta(seconds=settings.schedule_lease_seconds)
        self.metrics = metrics
        self.clock: Clock = clock or self.store.now
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(MAX_RUNNING)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._counted_at = 0.0
        self._next_pass_in = self.poll_seconds

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="agentkeep-scheduler")

    def wake(self) -> None:
        """Look for work now (a manual trigger was recorded)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming; let running fires finish within the grace, then cancel them.

        A cancelled fire keeps its lease and row: another process resumes it later.
        """
        self._stop.set()
        await background.finish(self._task)
        running = list(self._running.values())
        if running:
            _, late = await asyncio.wait(running, timeout=background.STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _run(self) -> None:
        # A fixed retry interval: the poll is what bounds a fire's lateness, outage or not.
        backoff = background.Backoff(self.poll_seconds, self.poll_seconds)
        await background.loop(
            "scheduler pass", log, self._pass, self._stop, backoff, rest=self._rest
        )

    async def _pass(self) -> None:
        # Cleared before the pass, not after: a trigger recorded during it is not lost.
        self._wake.clear()
        await self.tick()
        self._next_pass_in = await self._delay()

    async def _rest(self) -> None:
        """Until the next pass is due, a trigger is recorded, or the loop is stopped."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._next_pass_in):
                await _first(self._stop, self._wake)

    async def _delay(self) -> float:
        """Until the earliest due schedule, at most one poll interval."""
        earliest = await self.store.earliest_fire_at()
        if earliest is None:
            return self.poll_seconds
        until = (earliest - await self.clock()).total_seconds()
        return min(self.poll_seconds, max(until, 0.0))

    # ------------------------------------------------------------------ one pass

    async def tick(self) -> list[FireRow]:
        """Claim what is due and start what is runnable; return the fires claimed."""
        now = await self.clock()
        claimed = await self.claim_due(now)
        for fire in claimed:
            if fire["status"] == FireStatus.PENDING:
                self._spawn(fire["id"])
        for fire_pk in await self.store.runnable_fire_ids(now, limit=MAX_RUNNING):
            self._spawn(fire_pk)
        await self._count()
        return claimed

    async def claim_due(self, now: datetime) -> list[FireRow]:
        """Advance every due schedule and record its fire (run by ``tick``, not here)."""
        claimed: list[FireRow] = []
        for _ in range(CLAIM_BATCHES):
            ids = await self.store.due_schedule_ids(now, CLAIM_BATCH)
            for schedule_id in ids:
                fire = await self.store.claim_schedule(schedule_id, now, self._decider(now))
                if fire is None:
                    continue  # a peer claimed it first
                claimed.append(fire)
                self._claimed(fire, now)
            if len(ids) < CLAIM_BATCH:
                break
        return claimed

    def _decider(self, now: datetime) -> Decide:
        def decide(row: ScheduleRow, skips: list[datetime], overlap: bool) -> Claim:
            cadence = model.cadence_of(row)
            assert row["next_fire_at"] is not None  # only due rows are claimed
            nominal = cadence.latest(now, row["next_fire_at"], set(skips))
            upcoming = cadence.next(now, set(skips))
            fire_id = model.scheduled_fire_id(row["id"], nominal)
            if now - nominal > self.catchup:
                skipped = FireStatus.SKIPPED
                return Claim(nominal, upcoming, fire_id, skipped, "missed_catchup_window")
            if overlap:
                return Claim(nominal, upcoming, fire_id, FireStatus.SKIPPED, "overlap")
            return Claim(nominal, upcoming, fire_id, FireStatus.PENDING)

        return decide

    def _claimed(self, fire: FireRow, now: datetime) -> None:
        lag = (now - fire["nominal_time"]).total_seconds()
        if fire["status"] == FireStatus.PENDING:
            self.metrics.lag.observe(lag)
            return
        self.metrics.fires.labels(fire["trigger_type"], fire["status"]).inc()
        log.info(
            "schedule fire %s %s (%s) schedule=%s lag=%.3fs",
            fire["fire_id"],
            fire["status"],
            fire["reason"],
            fire["schedule_id"],
            lag,
        )

    async def _count(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if loop_time - self._counted_at < COUNT_SECONDS and self._counted_at:
            return
        self._counted_at = loop_time
        for state, n in (await self.store.count_schedules()).items():
            self.metrics.schedules.labels(state).set(n)

    # ------------------------------------------------------------------ running fires

    def _spawn(self, fire_pk: str) -> None:
        if fire_pk in self._running or self._stop.is_set():
            return
        task = asyncio.create_task(self.execute(fire_pk), name=f"agentkeep-fire-{fire_pk}")
        self._running[fire_pk] = task
        task.add_done_callback(lambda _t: self._running.pop(fire_pk, None))

    async def wait_idle(self) -> None:
        """Wait for the fires this process is running (tests, shutdown)."""
        while self._running:
            await asyncio.wait(list(self._running.values()))

    async def execute(self, fire_pk: str) -> None:
        """Take the fire by compare-and-set and run one attempt under a renewed lease."""
        async with self._slots:
            now = await self.clock()
            fire = await self.store.start_fire(fire_pk, now, now + self.lease)
            if fire is None:
                return  # a peer runs it, or it is done
            renewing = asyncio.create_task(self._renew(fire))
            try:
                try:
                    outcome = await self._attempt(fire)
                except Exception as exc:
                    await self._failed(fire, exc)
                else:
                    await self._finish(fire, outcome)
            except Exception:
                # The outcome could not be recorded (database away): the lease runs out
                # and a pass of any process takes the fire up again.
                log.exception("schedule fire %s: could not record its outcome", fire["fire_id"])
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing

    async def _attempt(self, fire: FireRow) -> fire_mod.Outcome:
        schedule = await self.store.get_schedule_any(fire["schedule_id"])
        reason, agent = await fire_mod.skip_reason(self.services, fire, schedule)
        if reason is not None or schedule is None or agent is None:
            return fire_mod.Outcome(FireStatus.SKIPPED, reason)

        async def record_task(task_id: str) -> None:
            values = {"task_id": task_id}
            await self.store.update_running_fire(fire["id"], fire["attempts"], values)

        return await fire_mod.run(self.services, fire, schedule, agent, record_task)

    async def _renew(self, fire: FireRow) -> None:
        """Extend the lease every quarter of it while the attempt runs."""
        every = self.lease.total_seconds() / 4
        while True:
            await asyncio.sleep(every)
            try:
                until = await self.clock() + self.lease
                values = {"lease_until": until}
                if not await self.store.update_running_fire(fire["id"], fire["attempts"], values):
                    return  # no longer ours: a peer took over after our lease ran out
            except Exception:
                log.exception("schedule fire %s: lease renewal failed", fire["fire_id"])

    async def _finish(self, fire: FireRow, outcome: fire_mod.Outcome) -> None:
        now = await self.clock()
        values: dict[str, Any] = {
            "status": outcome.status,
            "reason": outcome.reason,
            "finished_at": now,
            "lease_until": None,
        }
        if outcome.task_id is not None:
            values["task_id"] = outcome.task_id
        await self.store.update_running_fire(fire["id"], fire["attempts"], values)
        self._finished(fire, outcome.status, outcome.reason, outcome.task_id, now)

    async def _failed(self, fire: FireRow, exc: Exception) -> None:
        """Retry with backoff; a refusal (4xx) or the fifth failure is final."""
        reason = exc.message if isinstance(exc, errors.AgentkeepError) else repr(exc)
        if not isinstance(exc, errors.AgentkeepError):
            log.exception("schedule fire %s attempt failed", fire["fire_id"], exc_info=exc)
        self.metrics.failures.inc()
        now = await self.clock()
        final = isinstance(exc, errors.ClientError) or fire["attempts"] >= MAX_ATTEMPTS
        values: dict[str, Any] = {"reason": reason, "lease_until": None}
        if final:
            values.update(status=FireStatus.FAILED, finished_at=now)
        else:
            delay = RETRY_DELAYS[fire["attempts"] - 1]
            values.update(status=FireStatus.PENDING, next_attempt_at=now + timedelta(seconds=delay))
        await self.store.update_running_fire(fire["id"], fire["attempts"], values)
        if final:
            self._finished(fire, FireStatus.FAILED, reason, None, now)
        else:
            log.warning(
                "schedule fire %s attempt %d failed: %s", fire["fire_id"], fire["attempts"], reason
            )

    def _finished(
        self,
        fire: FireRow,
        status: str,
        reason: str | None,
        task_id: str | None,
        now: datetime,
    ) -> None:
        self.metrics.fires.labels(fire["trigger_type"], status).inc()
        log.info(
            "schedule fire %s %s%s schedule=%s task=%s attempts=%d lag=%.3fs",
            fire["fire_id"],
            status,
            f" ({reason})" if reason else "",
            fire["schedule_id"],
            task_id,
            fire["attempts"],
            (now - fire["nominal_time"]).total_seconds(),
        )


async def _first(*events: asyncio.Event) -> None:
    """Return when any of ``events`` is set."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
