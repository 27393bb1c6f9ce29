"""Missing or deleted → 404, once for each kind that is soft-deleted (tasks, agents).

An unknown row answers ``Item with id|name '<ref>' does not exist.``; a soft-deleted one
``Task <ref> not found`` or ``Agent <ref> not found``: Agentex's words, which clients
read. Every path (REST, JSON-RPC, lifecycle, store) refuses through these, so the two
cases never drift apart again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from agentkeep import errors
from agentkeep.domain.agents import AgentStatus
from agentkeep.domain.status import TaskStatus

#: The row type passes through: a store's typed row comes back as that type.
RowT = TypeVar("RowT", bound=Mapping[str, Any])


def missing(ref: str, *, by_name: bool = False) -> errors.NotFound:
    return errors.NotFound.by_name(ref) if by_name else errors.NotFound.by_id(ref)


def task_deleted(ref: str) -> errors.NotFound:
    return errors.TaskNotFound(f"Task {ref} not found")


def agent_deleted(ref: str) -> errors.NotFound:
    return errors.NotFound(f"Agent {ref} not found")


def task(row: RowT | None, ref: str, *, by_name: bool = False) -> RowT:
    """``row`` if it is a live task; ``ref`` is the id (or name) the caller asked for."""
    return _live(row, ref, by_name, TaskStatus.DELETED, task_deleted)


def agent(row: RowT | None, ref: str, *, by_name: bool = False) -> RowT:
    """``row`` if it is a live agent; ``ref`` is the id (or name) the caller asked for."""
    return _live(row, ref, by_name, AgentStatus.DELETED, agent_deleted)


def _live(
    row: RowT | None,
    ref: str,
    by_name: bool,
    deleted: str,
    refusal: Callable[[str], errors.NotFound],
) -> RowT:
    if row is None:
        raise missing(ref, by_name=by_name)
    if row["status"] == deleted:
        raise refusal(ref)
    return row
