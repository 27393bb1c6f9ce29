"""Dependencies: what a route needs, by name (``StoreDep``, ``LifecycleDep``, …).

Everything is taken from ``app.state``, which the factory fills; nothing is global.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import uuid4

from fastapi import Depends, Request

from agentkeep import errors
from agentkeep.lifecycle import Lifecycle
from agentkeep.settings import Settings
from agentkeep.store import SqlStore


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. ``agent`` is set for callers that present an agent key."""

    credential: str
    agent: dict[str, Any] | None = None

    @property
    def actor(self) -> str:
        """How the history names this caller."""
        return self.credential.split("#", 1)[0]


ANONYMOUS = Principal("anonymous")


def get_store(request: Request) -> SqlStore:
    store: SqlStore = request.app.state.store
    return store


def get_lifecycle(request: Request) -> Lifecycle:
    lifecycle: Lifecycle = request.app.state.lifecycle
    return lifecycle


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def request_id(request: Request) -> str:
    return request.headers.get("x-request-id") or str(uuid4())


def _api_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key") or request.cookies.get("agentkeep_api_key")


async def get_principal(request: Request) -> Principal:
    """Authenticate the caller.

    Without configured API keys nothing is required, but an ``x-agent-api-key`` that is
    sent must be a real one: a wrong agent key is always 401, so a misconfigured agent
    learns at once instead of acting anonymously.
    """
    settings = get_settings(request)
    keys = settings.api_key_map
    if keys:
        api_key = _api_key(request)
        if api_key is not None and api_key in keys:
            return Principal(f"api-key:{keys[api_key]}")
    agent_key = request.headers.get("x-agent-api-key")
    if agent_key:
        agent = await get_store(request).agent_by_key(agent_key)
        if agent is None:
            raise errors.Unauthorized()
        # The id after '#' keeps two agents of one name (one deleted) apart in idempotency
        # scopes; the history shows only ``agent:<name>``.
        return Principal(f"agent:{agent['name']}#{agent['id']}", agent)
    if keys:
        raise errors.Unauthorized()
    return ANONYMOUS


StoreDep = Annotated[SqlStore, Depends(get_store)]
LifecycleDep = Annotated[Lifecycle, Depends(get_lifecycle)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
RequestIdDep = Annotated[str, Depends(request_id)]


def if_match(request: Request) -> int | None:
    """The version ``If-Match`` asks for; None when absent or ``*`` (any existing task)."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit():
        raise errors.BadRequest(
            'If-Match must be a quoted task version such as "3" (from the ETag header) or *.'
        )
    return int(value)


IfMatchDep = Annotated[int | None, Depends(if_match)]
