"""Agent vocabulary: the one place that lists agent statuses and ACP types.

Wire values are Agentex's (``"Ready"``, ``"BuildOnly"``, …); table CHECK constraints are
built from these enums, so adding a value is a one-file change plus a migration.
"""

from __future__ import annotations

from enum import StrEnum


class AgentStatus(StrEnum):
    READY = "Ready"  #: registered with an ACP URL: callable
    FAILED = "Failed"
    UNKNOWN = "Unknown"
    DELETED = "Deleted"  #: soft-deleted: hidden, its key refused, its name reusable
    UNHEALTHY = "Unhealthy"
    BUILD_ONLY = "BuildOnly"  #: created by register-build: no ACP URL yet


class AcpType(StrEnum):
    SYNC = "sync"  #: answers ``message/send``, streamed
    ASYNC = "async"  #: takes ``task/create``, ``event/send``, ``task/cancel``
    AGENTIC = "agentic"  #: Agentex's older name for ``async``


#: The types that work by events and are told about creations and cancels.
ASYNC_ACP_TYPES: frozenset[AcpType] = frozenset({AcpType.ASYNC, AcpType.AGENTIC})
