"""The task status machine: the one place that lists statuses and the moves between them.

Every other module asks this one (``sources_for``, ``TERMINAL``, ``CLOSED_TO_TURNS``) instead
of spelling statuses out, so adding a status is a one-file change. A status added later is
terminal unless it is added to ``NON_TERMINAL``.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    RUNNING = "RUNNING"  #: the task takes turns
    INTERRUPTED = "INTERRUPTED"  #: the agent stopped its turn; the next turn resumes
    COMPLETED = "COMPLETED"  #: done, successfully
    FAILED = "FAILED"  #: ended by an error
    CANCELED = "CANCELED"  #: a person or client asked to stop; the agent is told
    TERMINATED = "TERMINATED"  #: forcibly ended; the agent is not asked
    TIMED_OUT = "TIMED_OUT"  #: ran past its deadline
    DELETED = "DELETED"  #: soft-deleted; hidden from every read but the stream


NON_TERMINAL: frozenset[TaskStatus] = frozenset({TaskStatus.RUNNING, TaskStatus.INTERRUPTED})
TERMINAL: frozenset[TaskStatus] = frozenset(TaskStatus) - NON_TERMINAL

#: The states a task must be in for a move *to* the key. The whole machine in one table.
#: FAILED → RUNNING (an agent error resumed by a later turn) is guarded by the actor of the
#: failure as well, which ``lifecycle`` checks; the table only says the move exists.
ALLOWED_SOURCES: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.COMPLETED: NON_TERMINAL,
    TaskStatus.FAILED: NON_TERMINAL,
    TaskStatus.CANCELED: NON_TERMINAL,
    TaskStatus.TERMINATED: NON_TERMINAL,
    TaskStatus.TIMED_OUT: NON_TERMINAL,
    TaskStatus.INTERRUPTED: frozenset({TaskStatus.RUNNING}),
    TaskStatus.RUNNING: frozenset({TaskStatus.INTERRUPTED, TaskStatus.FAILED}),
    TaskStatus.DELETED: frozenset(TaskStatus) - {TaskStatus.DELETED},
}


def _final() -> frozenset[TaskStatus]:
    """Terminal statuses from which no sequence of moves leads out of the terminal ones."""
    final = set(TERMINAL)
    while leaving := {
        s
        for s in final
        for t, sources in ALLOWED_SOURCES.items()
        if s in sources and t not in final
    }:
        final -= leaving
    return frozenset(final)


#: Once a task has one of these it stays ended (FAILED is not one: an agent error may be
#: resumed by the next turn).
FINAL: frozenset[TaskStatus] = _final()

#: Statuses that refuse new turns (``message/send``, ``event/send``).
CLOSED_TO_TURNS: frozenset[TaskStatus] = TERMINAL - {TaskStatus.FAILED}

#: The REST transition verbs, the status each one sets and its default reason. The reasons
#: are part of the wire contract (clients compare them), underscore in ``timed_out`` included.
VERBS: dict[str, tuple[TaskStatus, str]] = {
    "complete": (TaskStatus.COMPLETED, "Task completed"),
    "fail": (TaskStatus.FAILED, "Task failed"),
    "cancel": (TaskStatus.CANCELED, "Task canceled"),
    "terminate": (TaskStatus.TERMINATED, "Task terminated"),
    "timeout": (TaskStatus.TIMED_OUT, "Task timed_out"),
    "interrupt": (TaskStatus.INTERRUPTED, "Task interrupted"),
}

#: The actor recorded when an agent error fails a task; only such failures may resume.
AGENT_ERROR_ACTOR = "system:acp"

#: The history reason of a resume by a new turn (INTERRUPTED, or FAILED by an agent error).
RESUMED_REASON = "Task resumed on next turn"


def sources_for(target: TaskStatus) -> frozenset[TaskStatus]:
    """The statuses from which ``target`` may be reached."""
    return ALLOWED_SOURCES.get(target, frozenset())


def is_terminal(status: str) -> bool:
    return status not in NON_TERMINAL
