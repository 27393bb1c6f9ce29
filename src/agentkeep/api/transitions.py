"""``POST /tasks/{id}/complete|fail|cancel|terminate|timeout|interrupt`` and the same by name.

Each is one compare-and-set through ``lifecycle``; refusals carry the current task in
``data.task``; ``If-Match`` and ``Idempotency-Key`` apply.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Response

from agentkeep.api import responses, wire
from agentkeep.api.deps import (
    IfMatchDep,
    LifecycleDep,
    PrincipalDep,
    RequestIdDep,
    TaskRefDep,
)
from agentkeep.api.idempotency import IdempotencyDep
from agentkeep.api.schemas import TransitionBody
from agentkeep.domain import status
from agentkeep.store.tasks import Change

router = APIRouter(tags=["tasks"])

Endpoint = Callable[..., Coroutine[Any, Any, Response]]


def _endpoint(verb: str) -> Endpoint:
    # If-Match is read before the task is resolved: a malformed one is 400 even for a
    # task that does not exist, as before the two paths shared one function.
    async def endpoint(
        lifecycle: LifecycleDep,
        principal: PrincipalDep,
        expected: IfMatchDep,
        rid: RequestIdDep,
        task: TaskRefDep,
        idempotent: IdempotencyDep,
        body: TransitionBody | None = None,
    ) -> Response:
        async def handler() -> Response:
            reason = body.reason if body is not None and body.reason else None
            change = Change(principal.actor, rid, reason)
            row = await lifecycle.apply_verb(task.id, verb, change, expected_version=expected)
            return responses.task(row)

        return await idempotent(handler)

    return endpoint


_ENDPOINTS = {verb: _endpoint(verb) for verb in status.VERBS}

# Name routes first: ``/tasks/name/{name}/…`` must win over ``/tasks/{id}/…``.
for _path, _suffix in (("/tasks/name/{name}", "_task_by_name"), ("/tasks/{task_id}", "_task")):
    for _verb, _call in _ENDPOINTS.items():
        router.add_api_route(
            f"{_path}/{_verb}",
            _call,
            methods=["POST"],
            name=_verb + _suffix,
            response_model=wire.Task,
        )
