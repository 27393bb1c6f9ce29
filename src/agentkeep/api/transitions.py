"""``POST /tasks/{id}/complete|fail|cancel|terminate|timeout|interrupt`` and the same by name.

Each is one compare-and-set through ``lifecycle``; refusals carry the current task in
``data.task``; ``If-Match`` and ``Idempotency-Key`` apply.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response

from agentkeep.api import idempotency, responses, wire
from agentkeep.api.deps import (
    IfMatchDep,
    LifecycleDep,
    PrincipalDep,
    RequestIdDep,
    SettingsDep,
    TaskAccessDep,
)
from agentkeep.api.schemas import TransitionBody
from agentkeep.domain import live, status
from agentkeep.store.tasks import Change

router = APIRouter(tags=["tasks"])

Endpoint = Callable[..., Coroutine[Any, Any, Response]]


async def _run(
    verb: str,
    task_id: str,
    body: TransitionBody | None,
    request: Request,
    lifecycle: LifecycleDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    expected: int | None,
    rid: str,
) -> Response:
    async def handler() -> Response:
        reason = body.reason if body is not None and body.reason else None
        row = await lifecycle.apply_verb(
            task_id, verb, Change(principal.actor, rid, reason), expected_version=expected
        )
        return responses.task(row)

    return await idempotency.run(
        request, lifecycle.store, principal, settings.idempotency_ttl_seconds, handler
    )


def _by_id(verb: str) -> Endpoint:
    async def endpoint(
        task_id: str,
        request: Request,
        lifecycle: LifecycleDep,
        principal: PrincipalDep,
        settings: SettingsDep,
        expected: IfMatchDep,
        rid: RequestIdDep,
        access: TaskAccessDep,
        body: TransitionBody | None = None,
    ) -> Response:
        await access.require(task_id)
        return await _run(
            verb, task_id, body, request, lifecycle, principal, settings, expected, rid
        )

    return endpoint


def _by_name(verb: str) -> Endpoint:
    async def endpoint(
        name: str,
        request: Request,
        lifecycle: LifecycleDep,
        principal: PrincipalDep,
        settings: SettingsDep,
        expected: IfMatchDep,
        rid: RequestIdDep,
        access: TaskAccessDep,
        body: TransitionBody | None = None,
    ) -> Response:
        await access.require_name(name)
        row = live.task(await lifecycle.store.get_task_by_name(name), name, by_name=True)
        return await _run(
            verb, row["id"], body, request, lifecycle, principal, settings, expected, rid
        )

    return endpoint


# Name routes first: ``/tasks/name/{name}/…`` must win over ``/tasks/{id}/…``.
for _verb in status.VERBS:
    router.add_api_route(
        f"/tasks/name/{{name}}/{_verb}",
        _by_name(_verb),
        methods=["POST"],
        name=f"{_verb}_task_by_name",
        response_model=wire.Task,
    )
for _verb in status.VERBS:
    router.add_api_route(
        f"/tasks/{{task_id}}/{_verb}",
        _by_id(_verb),
        methods=["POST"],
        name=f"{_verb}_task",
        response_model=wire.Task,
    )
