"""GitHub and Slack signatures on the forward ingress, from fixed test vectors."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers

from agentkeep import errors
from agentkeep.api import forward_auth
from agentkeep.store import SqlStore
from tests.platform.kit import StandIn, envelope, live_app, register, stand_in

# GitHub's documented example (docs: "Validating webhook deliveries").
GITHUB_DOC = ("It's a Secret to Everybody", b"Hello, World!")
GITHUB_DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
# Slack's documented example (docs: "Verifying requests from Slack").
SLACK_DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_DOC_TIMESTAMP = "1531420618"
SLACK_DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9"
    b"T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&"
    b"text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F9"
    b"6rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
# A delivery of our own, signed once with Python's hmac and pasted here.
GH_SECRET = "gh-secret-for-tests"
GH_BODY = b'{"action":"opened","repository":{"full_name":"octo/hello"}}'
GH_SIGNATURE = "sha256=d6f7d2b921881805671fafb060e8d79ed19c79425fd61a467bb2644ff9de5cc3"
SLACK_SECRET = "slack-signing-secret"
SLACK_BODY = b'{"api_app_id":"A123","type":"event_callback"}'


def test_documented_vectors() -> None:
    assert forward_auth.github_signature(*GITHUB_DOC) == GITHUB_DOC_SIGNATURE
    assert forward_auth.github_signature(GH_SECRET, GH_BODY) == GH_SIGNATURE
    signed = forward_auth.slack_signature(SLACK_DOC_SECRET, SLACK_DOC_TIMESTAMP, SLACK_DOC_BODY)
    assert signed == SLACK_DOC_SIGNATURE


def test_slack_window_is_300_seconds() -> None:
    headers = Headers({"x-slack-request-timestamp": SLACK_DOC_TIMESTAMP})
    stamp = int(SLACK_DOC_TIMESTAMP)
    assert forward_auth.slack_timestamp(headers, stamp + 300) == SLACK_DOC_TIMESTAMP
    assert forward_auth.slack_timestamp(headers, stamp - 300) == SLACK_DOC_TIMESTAMP
    for now in (stamp + 301, stamp - 301):
        with pytest.raises(errors.BadRequest, match="bad timestamp"):
            forward_auth.slack_timestamp(headers, now)


@dataclass
class Rig:
    http: httpx.AsyncClient
    agent: StandIn
    url: str


@pytest.fixture
async def rig(db_url: str, store: SqlStore) -> AsyncIterator[Rig]:
    async with stand_in() as agent, live_app(db_url, store) as (_, http):
        registered = await register(http, agent.url)
        for source, name, secret in (
            ("github", "octo/hello", GH_SECRET),
            ("slack", "A123", SLACK_SECRET),
        ):
            r = await http.post(
                "/agent_api_keys/webhook-trigger",
                json={"agent_name": registered["name"], "source": source, "name": name,
                      "forward_path": "hook", "secret": secret},
            )  # fmt: skip
            assert r.status_code == 200, r.text
        yield Rig(http, agent, f"/agents/forward/name/{registered['name']}/hook")


async def test_github_deliveries(rig: Rig) -> None:
    ok = await rig.http.post(
        rig.url, content=GH_BODY, headers={"x-hub-signature-256": GH_SIGNATURE}
    )
    assert ok.status_code == 200
    [seen] = rig.agent.seen
    assert seen.body == GH_BODY and seen.header("x-hub-signature-256") == [GH_SIGNATURE]
    unknown_repo = b'{"repository":{"full_name":"octo/other"}}'
    unsigned = GH_BODY.replace(b"opened", b"closed")
    bad = "Invalid GitHub webhook signature"
    cases: list[tuple[bytes, str, int, str]] = [
        (GH_BODY, "sha256=" + "0" * 64, 401, bad),
        (unsigned, GH_SIGNATURE, 401, bad),
        (b"", GH_SIGNATURE, 400, "Empty payload in GitHub webhook."),
        (b"not json", GH_SIGNATURE, 400, "Failed to parse GitHub webhook payload as JSON."),
        (b'{"a":1}', GH_SIGNATURE, 400, "GitHub webhook payload missing repository info."),
        (
            b'{"repository":{}}',
            GH_SIGNATURE,
            400,
            "GitHub webhook payload missing repository name.",
        ),
        (unknown_repo, GH_SIGNATURE, 404, "No API key found for GitHub repository octo/other."),
    ]
    for body, signature, status, message in cases:
        r = await rig.http.post(rig.url, content=body, headers={"x-hub-signature-256": signature})
        assert r.json() == envelope(message, status), body
    assert len(rig.agent.seen) == 1


def slack_headers(body: bytes, timestamp: int, secret: str = SLACK_SECRET) -> dict[str, str]:
    stamp = str(timestamp)
    return {
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": forward_auth.slack_signature(secret, stamp, body),
    }


async def test_slack_deliveries(rig: Rig) -> None:
    now = int(time.time())
    ok = await rig.http.post(rig.url, content=SLACK_BODY, headers=slack_headers(SLACK_BODY, now))
    assert ok.status_code == 200
    assert rig.agent.seen[0].header("x-slack-signature") == [
        slack_headers(SLACK_BODY, now)["x-slack-signature"]
    ]
    stale = now - 3600
    unknown_app = b'{"api_app_id":"B999"}'
    no_app = b'{"type":"x"}'
    bad_stamp = {**slack_headers(SLACK_BODY, now), "x-slack-request-timestamp": "soon"}
    cases: list[tuple[bytes, dict[str, str], int, str]] = [
        (
            SLACK_BODY,
            slack_headers(SLACK_BODY, now, "wrong"),
            401,
            "Invalid Slack webhook signature",
        ),
        (
            SLACK_BODY,
            slack_headers(SLACK_BODY, stale),
            400,
            "Slack webhook request has bad timestamp.",
        ),
        (
            SLACK_BODY,
            {"x-slack-signature": "v0=0"},
            401,
            "Missing X-Slack-Request-Timestamp header.",
        ),
        (SLACK_BODY, bad_stamp, 400, "Invalid X-Slack-Request-Timestamp header value."),
        (no_app, slack_headers(no_app, now), 400, "Slack webhook payload missing API app ID."),
        (unknown_app, slack_headers(unknown_app, now), 404, "No API key found for Slack app B999."),
    ]
    for body, headers, status, message in cases:
        r = await rig.http.post(rig.url, content=body, headers=headers)
        assert r.json() == envelope(message, status), (body, headers)
    assert len(rig.agent.seen) == 1


async def test_slack_url_verification(rig: Rig) -> None:
    stamp = {"x-slack-request-timestamp": str(int(time.time()))}
    r = await rig.http.post(
        rig.url, content=b'{"type":"url_verification","challenge":"3eZbrw1aB"}', headers=stamp
    )
    assert (r.status_code, r.text) == (200, "3eZbrw1aB")
    assert r.headers["content-type"].startswith("text/plain")
    r = await rig.http.post(rig.url, content=b"challenge=3eZbrw1aB", headers=stamp)
    assert r.json() == envelope("Invalid Slack verification request.", 400)
    assert rig.agent.seen == []


async def test_signature_headers_are_judged_alone(rig: Rig) -> None:
    """A GitHub signature header decides even when a Slack one is present too."""
    headers: dict[str, Any] = {"x-hub-signature-256": GH_SIGNATURE, "x-slack-signature": "v0=1"}
    r = await rig.http.post(rig.url, content=GH_BODY, headers=headers)
    assert r.status_code == 200
