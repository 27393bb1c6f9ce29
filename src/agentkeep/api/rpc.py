"""JSON-RPC routes: ``POST /agents/{id}/rpc`` and ``/agents/name/{name}/rpc``.

HTTP only: parse the envelope (malformed, unknown method or invalid params is HTTP 422),
build the call's context, hand it to ``rpc.dispatch``, and render what comes back
(a failure inside dispatch is HTTP 200 with a JSON-RPC ``error``).
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from agentkeep import errors
from agentkeep.access import Principal
from agentkeep.acp.client import forwarded_headers
from agentkeep.api import deployments, responses
from agentkeep.api.deps import PrincipalDep, RequestIdDep, StoreDep, agent_for, id_or_name, named
from agentkeep.domain import jsonlimits, live
from agentkeep.rpc import dispatch, envelope
from agentkeep.rpc.context import RpcContext, Services
from agentkeep.rpc.params import RpcParams
from agentkeep.store.deployments import not_for_agent
from agentkeep.store.rows import AgentRow

router = APIRouter(tags=["agents"])


def _validation_error(exc: ValidationError, loc_prefix: tuple[str, ...]) -> RequestValidationError:
    return RequestValidationError(
        [
            {**e, "loc": (*loc_prefix, *e["loc"])}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
    )


async def _parse(request: Request) -> tuple[envelope.RpcRequest, RpcParams]:
    body = await request.body()
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        raise errors.Unprocessable("Request body is not valid JSON.") from None
    # Parsed again, exactly: orjson turns integers beyond 64 bits into floats, a silent
    # change; this refuses them (and NUL, surrogates, deep nesting) like REST bodies (400).
    raw = jsonlimits.loads_strict(body, "Request body")
    try:
        call = envelope.RpcRequest.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(exc, ("body",)) from None
    spec = dispatch.METHODS.get(call.method)
    if spec is None:
        known = ", ".join(sorted(dispatch.METHODS))
        raise errors.Unprocessable(f"Unknown method {call.method!r}; expected one of {known}.")
    try:
        params = spec.params.model_validate(call.params)
    except ValidationError as exc:
        raise _validation_error(exc, ("body", "params")) from None
    return call, params


async def _answer(
    agent: AgentRow,
    request: Request,
    principal: PrincipalDep,
    rid: str,
    *,
    acp_url: str | None = None,
) -> Response:
    call, params = await _parse(request)
    services: Services = request.app.state.rpc_services
    ctx = RpcContext(
        services,
        agent,
        principal,
        rid,
        rpc_id=call.id,
        forwarded=forwarded_headers(request.headers),
        acp_url=acp_url,
    )
    try:
        value = await dispatch.invoke(ctx, call.method, params)
    except errors.AgentkeepError as exc:
        return responses.json(envelope.error(call.id, exc.message))
    if isinstance(value, envelope.Streamed):
        return StreamingResponse(value.lines, media_type="application/x-ndjson")
    return responses.json(envelope.result(call.id, value))


# One endpoint, both paths; the name route is registered first (the inner decorator).
@router.post("/agents/{agent_id}/rpc", name="rpc_by_id")
@router.post("/agents/name/{name}/rpc", name="rpc_by_name")
async def rpc(
    key: Annotated[str, id_or_name("agent_id")],
    request: Request,
    store: StoreDep,
    principal: PrincipalDep,
    rid: RequestIdDep,
) -> Response:
    by_name = named(request)
    row = await (store.get_agent_by_name(key) if by_name else store.get_agent(key))
    if row is None or not _external_reach(principal, row):
        raise live.missing(key, by_name=by_name)
    return await _answer(row, request, principal, rid)


@router.post("/agents/{agent_id}/deployments/{deployment_id}/rpc")
async def rpc_by_deployment(
    agent_id: str,
    deployment_id: str,
    request: Request,
    store: StoreDep,
    principal: PrincipalDep,
    rid: RequestIdDep,
) -> Response:
    """The agents' JSON-RPC, dialing one deployment (a preview before promoting it)."""
    agent = await agent_for(store, principal, agent_id)
    row = await deployments.owned_deployment(store, agent_id, deployment_id)
    if row["expires_at"] is not None:
        raise not_for_agent(deployment_id, agent_id)
    if not row["acp_url"]:
        raise errors.BadRequest(f"Deployment {deployment_id} does not have an ACP URL configured")
    return await _answer(agent, request, principal, rid, acp_url=row["acp_url"])


def _external_reach(principal: Principal, agent: AgentRow) -> bool:
    """[fix] An ``external`` key drives its own agent only: it is handed to outside
    integrations, which must not drive other agents. ``internal`` keys keep api.md's
    agent-to-agent reach."""
    if principal.key_type != "external" or principal.confined_to is None:
        return True
    return principal.confined_to == agent["id"]
