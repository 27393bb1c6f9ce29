"""The transition routes: lifecycle.md, 'The transition routes', on every database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

VERBS = {
    "complete": ("COMPLETED", "Task completed"),
    "fail": ("FAILED", "Task failed"),
    "cancel": ("CANCELED", "Task canceled"),
    "terminate": ("TERMINATED", "Task terminated"),
    "timeout": ("TIMED_OUT", "Task timed_out"),
}


@pytest.mark.parametrize("verb", VERBS)
async def test_default_reason_without_body(
    client: httpx.AsyncClient, task_factory: Any, verb: str
) -> None:
    task = await task_factory()
    r = await client.post(f"/tasks/{task['id']}/{verb}")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["status_reason"]) == VERBS[verb]
    assert r.json()["version"] == task["version"] + 1
    assert r.headers["etag"] == f'"{task["version"] + 1}"'


@pytest.mark.parametrize("body", [{"reason": None}, {"reason": ""}, {}])
async def test_empty_reason_gets_default(
    client: httpx.AsyncClient, task_factory: Any, body: dict
) -> None:
    task = await task_factory()
    r = await client.post(f"/tasks/{task['id']}/complete", json=body)
    assert r.json()["status_reason"] == "Task completed"


async def test_caller_reason_is_kept_and_recorded(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    r = await client.post(
        f"/tasks/{task['id']}/fail", json={"reason": "disk full"}, headers={"x-request-id": "req-7"}
    )
    assert r.json()["status_reason"] == "disk full"
    history = (await client.get(f"/tasks/{task['id']}/history")).json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "RUNNING"),
        ("RUNNING", "FAILED"),
    ]
    last = history[-1]
    assert (last["reason"], last["actor"], last["request_id"]) == (
        "disk full",
        "anonymous",
        "req-7",
    )


async def test_terminal_task_refuses_with_current_task(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    await client.post(f"/tasks/{task['id']}/complete", json={"reason": "ok"})
    r = await client.post(f"/tasks/{task['id']}/terminate")
    assert r.status_code == 400
    assert r.json()["message"] == (
        f"Task {task['id']} cannot be transitioned (current status: COMPLETED). "
        "Only running or interrupted tasks can have their status updated."
    )
    assert r.json()["code"] == 400
    assert r.json()["data"]["task"]["status"] == "COMPLETED"
    assert r.json()["data"]["task"]["status_reason"] == "ok"
    assert len((await client.get(f"/tasks/{task['id']}/history")).json()) == 2


async def test_unknown_and_deleted_tasks(client: httpx.AsyncClient, task_factory: Any) -> None:
    r = await client.post("/tasks/00000000-0000-0000-0000-000000000000/complete")
    assert r.status_code == 404
    assert (
        r.json()["message"] == "Item with id '00000000-0000-0000-0000-000000000000' does not exist."
    )
    task = await task_factory()
    assert (await client.delete(f"/tasks/{task['id']}")).status_code == 200
    r = await client.post(f"/tasks/{task['id']}/complete")
    assert r.status_code == 404
    assert r.json()["message"] == f"Task {task['id']} not found"


async def test_interrupt_and_resume_rules(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory(name="intr")
    r = await client.post(f"/tasks/{task['id']}/interrupt")
    assert (r.status_code, r.json()["status"], r.json()["status_reason"]) == (
        200,
        "INTERRUPTED",
        "Task interrupted",
    )
    r = await client.post(f"/tasks/{task['id']}/interrupt")
    assert r.status_code == 400
    assert r.json()["message"] == (
        f"Task {task['id']} is not running (current status: INTERRUPTED). "
        "Only running tasks can be interrupted."
    )
    # An interrupted task can still be ended.
    r = await client.post(f"/tasks/{task['id']}/complete")
    assert r.json()["status"] == "COMPLETED"


async def test_task_create_by_name_resumes_interrupted(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory(name="again")
    await client.post(f"/tasks/{task['id']}/interrupt")
    again = await task_factory(name="again")
    assert again["id"] == task["id"]
    assert (again["status"], again["status_reason"]) == ("RUNNING", "Task resumed on next turn")


async def test_by_name_routes(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory(name="named-task")
    r = await client.post("/tasks/name/named-task/cancel", json={"reason": "user"})
    assert (r.status_code, r.json()["id"], r.json()["status"]) == (200, task["id"], "CANCELED")
    r = await client.post("/tasks/name/no-such-task/complete")
    assert (r.status_code, r.json()["message"]) == (
        404,
        "Item with name 'no-such-task' does not exist.",
    )


async def test_if_match(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory()
    r = await client.post(f"/tasks/{task['id']}/complete", headers={"If-Match": '"99"'})
    assert r.status_code == 412
    assert r.json()["data"]["task"]["status"] == "RUNNING"
    assert (await client.get(f"/tasks/{task['id']}")).json()["status"] == "RUNNING"
    r = await client.post(f"/tasks/{task['id']}/complete", headers={"If-Match": 'W/"1"'})
    assert r.status_code == 200
    r = await client.post(f"/tasks/{task['id']}/fail", headers={"If-Match": "*"})
    assert r.status_code == 400
    r = await client.post(f"/tasks/{task['id']}/fail", headers={"If-Match": "garbage"})
    assert r.status_code == 400


async def test_idempotency_key_replays_first_response(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    headers = {"Idempotency-Key": "k-1"}
    first = await client.post(
        f"/tasks/{task['id']}/complete", json={"reason": "a"}, headers=headers
    )
    again = await client.post(
        f"/tasks/{task['id']}/complete", json={"reason": "a"}, headers=headers
    )
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again.headers["etag"] == first.headers["etag"]
    # Same key, different request: refused, nothing changes.
    other = await client.post(
        f"/tasks/{task['id']}/complete", json={"reason": "b"}, headers=headers
    )
    assert other.status_code == 422
    # The key is scoped to the path: another verb with the same key is a new request.
    r = await client.post(f"/tasks/{task['id']}/fail", headers=headers)
    assert r.status_code == 400
    history = (await client.get(f"/tasks/{task['id']}/history")).json()
    assert [h["to_status"] for h in history] == ["RUNNING", "COMPLETED"]


async def test_idempotency_replays_refusals_too(
    client: httpx.AsyncClient, task_factory: Any
) -> None:
    task = await task_factory()
    await client.post(f"/tasks/{task['id']}/complete")
    headers = {"Idempotency-Key": "k-2"}
    first = await client.post(f"/tasks/{task['id']}/fail", headers=headers)
    again = await client.post(f"/tasks/{task['id']}/fail", headers=headers)
    assert first.status_code == again.status_code == 400
    assert first.json() == again.json()
