"""Schedule fire vocabulary: the one home of fire statuses and trigger types."""

from __future__ import annotations

from enum import StrEnum


class FireStatus(StrEnum):
    PENDING = "pending"  #: claimed (or triggered), waiting for a runner or its backoff
    RUNNING = "running"  #: a process runs it under a lease; past the lease anyone may resume it
    LAUNCHED = "launched"  #: the task exists and the input was delivered
    SKIPPED = "skipped"  #: not run; ``reason`` says why (overlap, schedule_paused, …)
    FAILED = "failed"  #: five attempts failed, or the agent refused; ``reason`` is the error


#: Fires with work left: an earlier one blocks the next cadence fire (overlap).
OPEN: frozenset[FireStatus] = frozenset({FireStatus.PENDING, FireStatus.RUNNING})


class TriggerType(StrEnum):
    SCHEDULED = "scheduled"  #: a cadence time
    MANUAL = "manual"  #: ``POST …/trigger``
