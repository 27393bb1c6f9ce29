"""Who may call an agent through the forward ingress (platform.md, Forwarding).

The first rule whose header is present decides, so a request carrying a GitHub signature
is judged on that signature alone. ``github``/``slack`` secrets verify signatures and never
authenticate a caller by themselves ([fix]: in Agentex a webhook secret pasted into GitHub
is also an agent credential). Every comparison is constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import Headers

from agentkeep import errors
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from agentkeep.store.rows import AgentRow

#: Slack's replay window: a signed request older (or newer) than this is refused.
SLACK_WINDOW_SECONDS = 300


def github_signature(secret: str, body: bytes) -> str:
    """The ``x-hub-signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``x-slack-signature`` value Slack sends (signing secret, version ``v0``)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signature_matches(expected: str, presented: str) -> bool:
    return hmac.compare_digest(expected.encode(), presented.encode())


def slack_timestamp(headers: Headers, now: float) -> str:
    """The request's timestamp, checked present, an integer and inside the window."""
    raw = headers.get("x-slack-request-timestamp")
    if raw is None:
        raise errors.Unauthorized("Missing X-Slack-Request-Timestamp header.")
    try:
        value = int(raw.strip())
    except ValueError:
        raise errors.BadRequest("Invalid X-Slack-Request-Timestamp header value.") from None
    if abs(now - value) > SLACK_WINDOW_SECONDS:
        raise errors.BadRequest("Slack webhook request has bad timestamp.")
    return raw.strip()


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def github_repository(body: bytes) -> str:
    """The repository ``full_name`` a GitHub delivery names: its secret's name."""
    if not body:
        raise errors.BadRequest("Empty payload in GitHub webhook.")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise errors.BadRequest("Failed to parse GitHub webhook payload as JSON.") from None
    repository = payload.get("repository") if isinstance(payload, dict) else None
    if not isinstance(repository, dict):
        raise errors.BadRequest("GitHub webhook payload missing repository info.")
    full_name = repository.get("full_name")
    if not isinstance(full_name, str) or not full_name:
        raise errors.BadRequest("GitHub webhook payload missing repository name.")
    return full_name


def slack_app_id(body: bytes) -> str:
    """The ``api_app_id`` a Slack delivery names: its secret's name."""
    payload = _json_object(body)
    app_id = payload.get("api_app_id") if payload is not None else None
    if not isinstance(app_id, str) or not app_id:
        # [fix] Agentex fails with 500 on a body that is not JSON.
        raise errors.BadRequest("Slack webhook payload missing API app ID.")
    return app_id


def slack_challenge(headers: Headers, body: bytes) -> str | None:
    """Slack's URL verification: the ``challenge`` to echo, if this is the handshake.

    Answered before authentication: the handshake carries no app id to find a secret by.
    """
    if "x-slack-request-timestamp" not in headers:
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise errors.BadRequest("Invalid Slack verification request.") from None
    challenge = payload.get("challenge") if isinstance(payload, dict) else None
    return challenge if isinstance(challenge, str) else None


def agent_key_header(headers: Headers) -> tuple[str | None, bool]:
    """``x-agent-api-key`` or ``Authorization: AgentKey <key>`` (any case); the bool says
    whether the key came in ``authorization``, which then must not reach the agent."""
    key = headers.get("x-agent-api-key")
    if key is not None:
        return key, False
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "agentkey":
        return value.strip(), True
    return None, False


def configured_api_key(headers: Headers, settings: Settings) -> bool:
    """A configured API key in ``Authorization: Bearer`` or ``x-api-key``."""
    keys = settings.api_key_map
    scheme, _, value = headers.get("authorization", "").partition(" ")
    presented = [headers.get("x-api-key")]
    if scheme.lower() == "bearer":
        presented.append(value.strip())
    return any(hmac.compare_digest(p.encode(), k.encode()) for p in presented if p for k in keys)


@dataclass(frozen=True, slots=True)
class ForwardCaller:
    #: Whether ``authorization`` carried the accepted credential (then it is dropped).
    strip_authorization: bool


async def authenticate(
    store: SqlStore, settings: Settings, agent: AgentRow, headers: Headers, body: bytes
) -> ForwardCaller:
    """Apply the first rule whose header is present; raise its error when it fails."""
    key, in_authorization = agent_key_header(headers)
    if key is not None:
        found = await store.agent_by_api_key(key, frozenset({"external"}))
        if found is None or found[0]["id"] != agent["id"]:
            raise errors.Unauthorized(f"Invalid API key for agent ID {agent['id']}.")
        return ForwardCaller(strip_authorization=in_authorization)
    if "x-hub-signature-256" in headers:
        await _check_github(store, agent, headers["x-hub-signature-256"], body)
        return ForwardCaller(strip_authorization=False)
    if "x-slack-signature" in headers:
        await _check_slack(store, agent, headers, body)
        return ForwardCaller(strip_authorization=False)
    if configured_api_key(headers, settings):
        return ForwardCaller(strip_authorization=True)
    raise errors.Forbidden("Missing authentication for forward request.")


async def _check_github(store: SqlStore, agent: AgentRow, presented: str, body: bytes) -> None:
    full_name = github_repository(body)
    secret = await store.webhook_secret(agent["id"], "github", full_name)
    if secret is None:
        raise errors.NotFound(f"No API key found for GitHub repository {full_name}.")
    if not signature_matches(github_signature(secret, body), presented):
        raise errors.Unauthorized("Invalid GitHub webhook signature")


async def _check_slack(store: SqlStore, agent: AgentRow, headers: Headers, body: bytes) -> None:
    timestamp = slack_timestamp(headers, time.time())
    app_id = slack_app_id(body)
    secret = await store.webhook_secret(agent["id"], "slack", app_id)
    if secret is None:
        raise errors.NotFound(f"No API key found for Slack app {app_id}.")
    if not signature_matches(
        slack_signature(secret, timestamp, body), headers["x-slack-signature"]
    ):
        raise errors.Unauthorized("Invalid Slack webhook signature")
