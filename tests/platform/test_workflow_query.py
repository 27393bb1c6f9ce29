"""``tasks.query_workflow`` of the official client against a live server: agentkeep runs no
workflow engine, so it answers Agentex's 404 for a task without a workflow."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import agentex
import httpx
import pytest

from tests.conftest import ServerProcess


@pytest.fixture
def client(server: ServerProcess) -> Iterator[agentex.Agentex]:
    with agentex.Agentex(base_url=server.url, max_retries=0, timeout=30) as c:
        yield c


def test_query_workflow_is_the_documented_404(
    client: agentex.Agentex, server: ServerProcess
) -> None:
    agent = {
        "name": f"q-{uuid.uuid4().hex[:8]}",
        "acp_url": "http://127.0.0.1:9",
        "acp_type": "sync",
    }
    assert httpx.post(f"{server.url}/agents/register", json=agent, timeout=10).status_code == 200
    task = client.agents.create_task(agent_name=agent["name"], params={}).result
    assert task is not None

    with pytest.raises(agentex.NotFoundError) as missing:
        client.tasks.query_workflow("current_state", task_id=task.id)
    assert missing.value.body == {
        "message": f"Workflow '{task.id}' not found",
        "code": 404,
        "data": {"task_id": task.id, "query": "current_state", "reason": "no_workflow_engine"},
    }

    unknown = str(uuid.uuid4())
    with pytest.raises(agentex.NotFoundError) as nothing:
        client.tasks.query_workflow("current_state", task_id=unknown)
    assert nothing.value.body["message"] == f"Item with id '{unknown}' does not exist."

    client.tasks.delete(task.id)
    with pytest.raises(agentex.NotFoundError) as deleted:
        client.tasks.query_workflow("current_state", task_id=task.id)
    assert deleted.value.body["message"] == f"Task {task.id} not found"
