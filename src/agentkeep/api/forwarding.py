"""The forward ingress: ``GET|POST /agents/forward/name/{agent_name}/{path}``.

Webhooks and integrations reach an agent's own HTTP routes through the server. No
``PrincipalDep`` here: the ingress authenticates each call itself (``forward_auth``), as
Agentex's auth whitelist lets these paths through to do. Order (platform.md): the agent,
Slack's handshake, authentication, the path rules, the call.
"""

from __future__ import annotations

from urllib.parse import unquote

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from agentkeep import errors
from agentkeep.acp import forward, wire
from agentkeep.acp.client import AgentTarget
from agentkeep.api import forward_auth
from agentkeep.api.deps import RequestIdDep, SettingsDep, StoreDep
from agentkeep.domain.agents import AgentStatus
from agentkeep.store import SqlStore
from agentkeep.store.rows import AgentRow

router = APIRouter(tags=["forwarding"])
PREFIX = "/agents/forward/name/"


async def dial_target(store: SqlStore, agent_name: str) -> tuple[AgentRow, AgentTarget]:
    agent = await store.get_agent_by_name(agent_name)
    target = None
    if agent is not None and agent["status"] != AgentStatus.DELETED.value:
        target = await wire.target(store, agent)
    if agent is None or target is None or not target.acp_url:
        raise errors.NotFound(f"Agent {agent_name} not found or has no ACP URL.")
    return agent, target


def raw_subpath(request: Request, agent_name: str) -> str:
    """The path after the agent's name, still percent-encoded as the caller sent it."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    raw_path = raw.decode("latin-1").split("?", 1)[0]
    # The agent's name segment may itself be percent-encoded: skip it, whatever its form.
    rest = raw_path[len(PREFIX) :]
    return rest.split("/", 1)[1] if "/" in rest else ""


def check_path(subpath: str) -> None:
    """[fix] Agentex forwards any path, so a webhook credential could reach ``/api``."""
    segments = unquote(subpath).split("/")
    if any(s in (".", "..") for s in segments):
        raise errors.BadRequest("Invalid forward path.")
    if [s for s in segments if s] == ["api"]:
        raise errors.Forbidden("The agent's ACP endpoint cannot be reached through forwarding.")


@router.get(PREFIX + "{agent_name}/{path:path}")
@router.post(PREFIX + "{agent_name}/{path:path}")
async def forward_to_agent(
    agent_name: str,
    path: str,
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    rid: RequestIdDep,
) -> Response:
    agent, target = await dial_target(store, agent_name)
    body = await request.body()
    challenge = forward_auth.slack_challenge(request.headers, body)
    if challenge is not None:
        return PlainTextResponse(challenge)
    caller = await forward_auth.authenticate(store, settings, agent, request.headers, body)
    subpath = raw_subpath(request, agent_name)
    check_path(subpath)
    query = request.url.query
    url = f"{target.acp_url.rstrip('/')}/{subpath}" + (f"?{query}" if query else "")
    headers = forward.request_headers(
        list(request.headers.items()),
        target,
        rid,
        strip_authorization=caller.strip_authorization,
    )
    http = request.app.state.agent_client.http
    return await forward.relay(
        http,
        method=request.method,
        url=url,
        headers=headers,
        body=body,
        agent_name=agent_name,
        timeout=settings.forward_timeout_seconds,
    )
