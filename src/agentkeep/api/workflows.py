"""``GET /tasks/{task_id}/query/{query_name}``: Agentex's Temporal workflow query.

agentkeep runs no workflow engine and ACP has no query method (SDK agents would answer
"method not found" to a forward), so every live task answers what Agentex answers for a
task without a workflow: 404 ``Workflow '<task_id>' not found``. Clients already handle
that; ``data.reason`` says why it will never succeed here.
"""

from __future__ import annotations

from fastapi import APIRouter

from agentkeep import errors
from agentkeep.api.deps import StoreDep, TaskAccessDep
from agentkeep.domain import live

router = APIRouter(tags=["tasks"])

NO_ENGINE = "no_workflow_engine"


@router.get("/tasks/{task_id}/query/{query_name}")
async def query_workflow(
    task_id: str, query_name: str, store: StoreDep, access: TaskAccessDep
) -> None:
    await access.require(task_id)
    # Unknown: 404 by id; DELETED: 404 ``Task <id> not found``.
    live.task(await store.get_task(task_id), task_id)
    raise errors.NotFound(
        f"Workflow '{task_id}' not found",
        data={"task_id": task_id, "query": query_name, "reason": NO_ENGINE},
    )
