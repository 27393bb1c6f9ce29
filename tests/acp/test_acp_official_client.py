"""The official ``agentex-client`` (0.28.4) against a live ``agentkeep serve`` process and
the example agents as real processes: where the client and the spec disagree, the
client wins."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import agentex
import pytest
from agentex.types import Event, Task, TaskMessage

from tests.acp_kit import AgentProcess, spawn_agent, wait_registered
from tests.conftest import ServerProcess

TEXT = "official client says hi"


@pytest.fixture
def client(server: ServerProcess) -> Iterator[agentex.Agentex]:
    with agentex.Agentex(base_url=server.url, max_retries=0, timeout=30) as c:
        yield c


@pytest.fixture
def agents(server: ServerProcess, tmp_path: Path) -> Iterator[Any]:
    started: list[AgentProcess] = []

    def start(kind: str) -> AgentProcess:
        name = f"{kind}-{uuid.uuid4().hex[:6]}"
        agent = spawn_agent(server.url, name, kind, tmp_path / f"{name}.log")
        started.append(agent)
        return wait_registered(agent)

    yield start
    for agent in started:
        agent.stop()


def user(text: str = TEXT) -> dict[str, Any]:
    return {"type": "text", "author": "user", "content": text}


def test_sync_agent_turns(client: agentex.Agentex, agents: Any) -> None:
    echo = agents("sync")
    created = client.agents.create_task(agent_name=echo.name, params={"name": "oc-sync"})
    assert isinstance(created.result, Task) and created.result.status == "RUNNING"
    sent = client.agents.send_message(
        agent_name=echo.name, params={"task_id": created.result.id, "content": user()}
    )
    [reply] = sent.result
    assert isinstance(reply, TaskMessage) and reply.content.content == TEXT
    chunks = list(
        client.agents.send_message_stream(
            agent_name=echo.name, params={"task_name": "oc-sync", "content": user()}
        )
    )
    updates = [c.result for c in chunks if c.result is not None]
    deltas = [u.delta.text_delta for u in updates if u.type == "delta"]
    assert updates[0].type == "start" and "".join(deltas) == TEXT
    messages = client.messages.list(task_id=created.result.id)
    assert len(messages) == 4 and all(m.streaming_status == "DONE" for m in messages)


def test_async_agent_turns(client: agentex.Agentex, agents: Any) -> None:
    greeter = agents("async")
    agent = client.agents.retrieve_by_name(greeter.name)
    task = client.agents.create_task(agent_id=agent.id, params={"params": {"k": 1}}).result
    params = {"task_id": task.id, "content": user()}
    sent = client.agents.send_event(agent_id=agent.id, params=params)
    assert isinstance(sent.result, Event) and sent.result.task_id == task.id
    texts = [m.content.content for m in client.messages.list(task_id=task.id)]
    assert f"You said: {TEXT}" in texts
    events = client.events.list(task_id=task.id, agent_id=agent.id)
    assert [e.id for e in events] == [sent.result.id]
    [tracker] = client.tracker.list(task_id=task.id, agent_id=agent.id)
    assert tracker.last_processed_event_id == sent.result.id
    assert client.tracker.retrieve(tracker.id).id == tracker.id
    state = client.states.create(task_id=task.id, agent_id=agent.id, state={"turns": 1})
    again = client.states.create(task_id=task.id, agent_id=agent.id, state={"turns": 2})
    assert again.id == state.id and again.state == {"turns": 1}
    assert [s.id for s in client.states.list(task_id=task.id)] == [state.id]
    canceled = client.agents.cancel_task(agent_id=agent.id, params={"task_id": task.id})
    assert canceled.result.status == "CANCELED"
    assert [c["method"] for c in greeter.received()].count("task/cancel") == 1


def test_task_transitions(client: agentex.Agentex, agents: Any) -> None:
    echo = agents("sync")

    def new() -> Task:
        return client.agents.create_task(agent_name=echo.name, params={}).result

    verbs = {
        "complete": ("COMPLETED", "Task completed"),
        "fail": ("FAILED", "Task failed"),
        "cancel": ("CANCELED", "Task canceled"),
        "terminate": ("TERMINATED", "Task terminated"),
        "timeout": ("TIMED_OUT", "Task timed_out"),
    }
    for verb, (status, reason) in verbs.items():
        task = getattr(client.tasks, verb)(new().id)
        assert (task.status, task.status_reason) == (status, reason)
    task = new()
    interrupted = client.tasks.interrupt(task.id, reason="stop")
    assert (interrupted.status, interrupted.status_reason) == ("INTERRUPTED", "stop")
    done = client.tasks.complete(task.id, reason="all good")
    assert done.status_reason == "all good"
    with pytest.raises(agentex.BadRequestError) as refused:
        client.tasks.terminate(task.id)
    assert "Only running" in str(refused.value)


def test_task_reads_and_updates(client: agentex.Agentex, agents: Any) -> None:
    echo = agents("sync")
    name = f"oc-{uuid.uuid4().hex[:6]}"
    task = client.agents.create_task(
        agent_name=echo.name, params={"name": name, "task_metadata": {"team": "a"}}
    ).result
    assert client.tasks.retrieve(task.id).id == task.id
    by_name = client.tasks.retrieve_by_name(name, relationships=["agents"])
    assert [a.name for a in by_name.agents or []] == [echo.name]
    assert task.id in [t.id for t in client.tasks.list(agent_name=echo.name)]
    updated = client.tasks.update_by_id(task.id, merge_params={"x": 1}, task_metadata={"b": 2})
    assert updated.params == {"x": 1} and updated.task_metadata == {"b": 2}
    client.tasks.delete(task.id)
    with pytest.raises(agentex.NotFoundError):
        client.tasks.retrieve(task.id)
