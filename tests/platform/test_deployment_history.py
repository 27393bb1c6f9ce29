"""Deployment history through the official client against a live server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import agentex
import httpx
import pytest

from agentkeep.store import SqlStore
from tests.platform.kit import live_app, register

Live = tuple[agentex.AsyncAgentex, httpx.AsyncClient]


@pytest.fixture
async def live(db_url: str, store: SqlStore) -> AsyncIterator[Live]:
    async with live_app(db_url, store) as (url, http):
        client = agentex.AsyncAgentex(
            base_url=url, max_retries=0, timeout=30, _strict_response_validation=True
        )
        async with client:
            yield client, http


async def test_registrations_record_new_commits(live: Live) -> None:
    client, http = live
    meta = {
        "agent_commit": "abc123",
        "author_name": "Ada",
        "author_email": "ada@example.com",
        "build_timestamp": "2026-11-30T10:00:00Z",
    }
    agent = await register(http, registration_metadata=meta)
    name = agent["name"]
    # Same commit again, even with another URL: no second record.
    await register(http, "http://127.0.0.1:9/moved", name=name, registration_metadata=meta)
    later = await register(
        http, "http://127.0.0.1:9/v2", name=name, registration_metadata={"agent_commit": "def456"}
    )
    records = await client.deployment_history.list(agent_id=agent["id"])
    assert [r.commit_hash for r in records] == ["def456", "abc123"]
    newest, oldest = records
    assert (oldest.author_name, oldest.author_email, oldest.branch_name) == (
        "Ada",
        "ada@example.com",
        "N/A",
    )
    assert oldest.build_timestamp.isoformat() == "2026-11-30T10:00:00+00:00"
    assert oldest.deployment_timestamp.isoformat() == agent["registered_at"].replace("Z", "+00:00")
    # Merged metadata keeps the first registration's author for the later commit.
    assert newest.author_name == "Ada"
    assert newest.deployment_timestamp.isoformat() == later["registered_at"].replace("Z", "+00:00")
    by_name = await client.deployment_history.list(agent_name=name, order_direction="asc")
    assert [r.commit_hash for r in by_name] == ["abc123", "def456"]
    one = await client.deployment_history.retrieve(oldest.id)
    assert one == oldest


async def test_commit_sha_counts_as_the_commit(live: Live) -> None:
    client, http = live
    # [ext] agentex-sdk 0.28.4 sends only commit_sha.
    agent = await register(http, registration_metadata={"commit_sha": "cafe01"})
    [record] = await client.deployment_history.list(agent_id=agent["id"])
    assert (record.commit_hash, record.author_name, record.branch_name) == ("cafe01", "N/A", "N/A")


async def test_deployment_registrations_write_no_history(live: Live) -> None:
    client, http = live
    agent = await register(http)
    await register(
        http,
        name=agent["name"],
        registration_metadata={"deployment_id": str(uuid.uuid4()), "commit_sha": "feed"},
    )
    assert await client.deployment_history.list(agent_id=agent["id"]) == []


async def test_history_errors(live: Live) -> None:
    client, http = live
    agent = await register(http)
    verb = "list deployment history"
    for kwargs, expected in [
        ({}, f"Either 'agent_id' or 'agent_name' must be provided to {verb}."),
        (
            {"agent_id": agent["id"], "agent_name": agent["name"]},
            f"Only one of 'agent_id' or 'agent_name' should be provided to {verb}.",
        ),
    ]:
        with pytest.raises(agentex.BadRequestError) as bad:
            await client.deployment_history.list(**kwargs)  # type: ignore[arg-type]
        assert isinstance(bad.value.body, dict) and bad.value.body["message"] == expected
    unknown = str(uuid.uuid4())
    for call, expected in [
        (
            client.deployment_history.list(agent_id=unknown),
            f"Item with id '{unknown}' does not exist.",
        ),
        (
            client.deployment_history.list(agent_name="nobody"),
            "Item with name 'nobody' does not exist.",
        ),
        (
            client.deployment_history.retrieve(unknown),
            f"Deployment not found: Item with id '{unknown}' does not exist.",
        ),
    ]:
        with pytest.raises(agentex.NotFoundError) as missing:
            await call
        assert isinstance(missing.value.body, dict) and missing.value.body["message"] == expected
