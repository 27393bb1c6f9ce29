"""``POST /agent_api_keys/webhook-trigger``: a GitHub or Slack secret plus the URL to paste.

The client's ``webhooks.create_webhook_trigger``. The secret is shown once, here.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from fastapi import APIRouter, Response
from pydantic import Field

from agentkeep import errors
from agentkeep.api import platform_wire as pw
from agentkeep.api import responses
from agentkeep.api.agent_keys import refuse_agent_keys
from agentkeep.api.deps import PrincipalDep, SettingsDep, StoreDep
from agentkeep.domain import live
from agentkeep.domain.limits import CheckedBody
from agentkeep.store.agent_api_keys import new_key_value

router = APIRouter(tags=["agent_api_keys"])

SOURCES = ("github", "slack")
FORWARD_PREFIX = "/agents/forward/name"


class WebhookTriggerCreate(CheckedBody):
    agent_name: str = Field(min_length=1)
    source: str = "github"
    name: str = Field(min_length=1, max_length=255)
    forward_path: str
    secret: str | None = Field(None, min_length=1, max_length=4096)
    base_url: str | None = None


def webhook_path(agent_name: str, forward_path: str) -> str:
    return f"{FORWARD_PREFIX}/{quote(agent_name, safe='')}/{quote(forward_path, safe='/')}"


def _check(body: WebhookTriggerCreate) -> str:
    """The forward path without its leading ``/``, once the body is known to be usable."""
    if body.source not in SOURCES:
        raise errors.BadRequest("source must be 'github' or 'slack' for a webhook trigger.")
    if body.source == "slack" and body.secret is None:
        raise errors.BadRequest(
            "Slack triggers must supply 'secret' set to the Slack app's Signing Secret "
            "(from your app credentials); it can't be generated."
        )
    path = body.forward_path.lstrip("/")
    if any(unicodedata.category(ch) == "Cc" for ch in path):
        raise errors.BadRequest("forward_path must not contain control characters.")
    return path


@router.post("/agent_api_keys/webhook-trigger", response_model=pw.WebhookTrigger)
async def create_webhook_trigger(
    body: WebhookTriggerCreate, store: StoreDep, principal: PrincipalDep, settings: SettingsDep
) -> Response:
    refuse_agent_keys(principal)
    path = _check(body)
    agent = live.agent(
        await store.get_agent_by_name(body.agent_name), body.agent_name, by_name=True
    )
    secret = body.secret or new_key_value()
    row = await store.create_agent_api_key(agent["id"], body.name, body.source, secret)
    if row is None:
        # [fix] 409 in Agentex, which agentex-client retries.
        raise errors.BadRequest(
            f"A {body.source} webhook key named '{body.name}' already exists for this agent."
        )
    full_path = webhook_path(agent["name"], path)
    base = body.base_url or settings.public_url
    return responses.json(
        {
            "key_id": row["id"],
            "agent_name": agent["name"],
            "source": body.source,
            "name": body.name,
            "secret": secret,
            "webhook_path": full_path,
            "webhook_url": base.rstrip("/") + full_path if base else None,
        }
    )
