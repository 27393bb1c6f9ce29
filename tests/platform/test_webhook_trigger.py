"""``webhooks.create_webhook_trigger`` through the official client against a live server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import agentex
import httpx
import pytest

from agentkeep.store import SqlStore
from tests.platform.kit import live_app, register

Live = tuple[agentex.AsyncAgentex, httpx.AsyncClient]


@pytest.fixture
async def live(db_url: str, store: SqlStore) -> AsyncIterator[Live]:
    async with live_app(db_url, store, public_url="https://keep.example.com/") as (url, http):
        client = agentex.AsyncAgentex(
            base_url=url, max_retries=0, timeout=30, _strict_response_validation=True
        )
        async with client:
            yield client, http


async def test_github_and_slack_triggers(live: Live) -> None:
    client, http = live
    agent = await register(http)
    github = await client.webhooks.create_webhook_trigger(
        agent_name=agent["name"], name="octo/hello", forward_path="/github-pr/cfg 1"
    )
    assert github.source == "github" and re.fullmatch(r"[0-9a-f]{64}", github.secret)
    assert github.webhook_path == f"/agents/forward/name/{agent['name']}/github-pr/cfg%201"
    assert github.webhook_url == "https://keep.example.com" + github.webhook_path
    slack = await client.webhooks.create_webhook_trigger(
        agent_name=agent["name"],
        source="slack",
        name="A123",
        forward_path="slack/events",
        secret="slack-signing-secret",
        base_url="https://other.example.com/base/",
    )
    assert (slack.secret, slack.name, slack.key_id != github.key_id) == (
        "slack-signing-secret",
        "A123",
        True,
    )
    assert slack.webhook_url == (
        f"https://other.example.com/base/agents/forward/name/{agent['name']}/slack/events"
    )
    keys = (await http.get("/agent_api_keys", params={"agent_id": agent["id"]})).json()
    assert {(k["id"], k["api_key_type"], k["name"]) for k in keys} == {
        (github.key_id, "github", "octo/hello"),
        (slack.key_id, "slack", "A123"),
    }


async def test_trigger_refusals(live: Live) -> None:
    client, http = live
    agent = await register(http)
    name = agent["name"]
    await client.webhooks.create_webhook_trigger(agent_name=name, name="o/r", forward_path="gh")
    slack_msg = (
        "Slack triggers must supply 'secret' set to the Slack app's Signing Secret "
        "(from your app credentials); it can't be generated."
    )
    cases = [
        ({"source": "external"}, "source must be 'github' or 'slack' for a webhook trigger."),
        ({}, "A github webhook key named 'o/r' already exists for this agent."),
        ({"source": "slack"}, slack_msg),
        ({"forward_path": "a\nb"}, "forward_path must not contain control characters."),
    ]
    for extra, expected in cases:
        args = {"agent_name": name, "name": "o/r", "forward_path": "gh", **extra}
        with pytest.raises(agentex.BadRequestError) as bad:
            await client.webhooks.create_webhook_trigger(**args)  # type: ignore[arg-type]
        assert isinstance(bad.value.body, dict) and bad.value.body["message"] == expected
    with pytest.raises(agentex.NotFoundError) as missing:
        await client.webhooks.create_webhook_trigger(
            agent_name="nobody", name="o/r", forward_path="gh"
        )
    assert isinstance(missing.value.body, dict)
    assert missing.value.body["message"] == "Item with name 'nobody' does not exist."
    keys = (await http.get("/agent_api_keys", params={"agent_id": agent["id"]})).json()
    assert len(keys) == 1


async def test_no_base_url_no_webhook_url(db_url: str, store: SqlStore) -> None:
    async with live_app(db_url, store) as (url, http):
        agent = await register(http)
        async with agentex.AsyncAgentex(base_url=url, max_retries=0) as client:
            made = await client.webhooks.create_webhook_trigger(
                agent_name=agent["name"], name="o/r", forward_path="x"
            )
    assert made.webhook_url is None
