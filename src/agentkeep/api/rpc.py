"""JSON-RPC: ``POST /agents/{id}/rpc`` and ``/agents/name/{name}/rpc``.

Envelope rules (Agentex's): a malformed envelope, an unknown method or invalid params is
HTTP 422; every failure inside dispatch is HTTP 200 with a JSON-RPC ``error``. Method
handlers live in their own modules and register in ``METHODS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from agentkeep import errors
from agentkeep.api import responses
from agentkeep.api.deps import (
    LifecycleDep,
    Principal,
    PrincipalDep,
    RequestIdDep,
    SettingsDep,
    StoreDep,
)
from agentkeep.api.schemas import RpcRequest
from agentkeep.lifecycle import Lifecycle
from agentkeep.settings import Settings
from agentkeep.store import SqlStore

router = APIRouter(tags=["agents"])

INTERNAL_ERROR = -32603
INVALID_PARAMS = -32602


@dataclass(slots=True)
class RpcContext:
    """Everything a method handler may use."""

    agent: dict[str, Any]
    store: SqlStore
    lifecycle: Lifecycle
    principal: Principal
    request_id: str
    settings: Settings
    request: Request
    rpc_id: int | str | None


Handler = Callable[[RpcContext, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Method:
    params: type[BaseModel]
    acp_types: frozenset[str]
    handler: Handler


METHODS: dict[str, Method] = {}


def method(name: str, params: type[BaseModel], acp_types: set[str]) -> Callable[[Handler], Handler]:
    """Register a JSON-RPC method handler."""

    def register(fn: Handler) -> Handler:
        METHODS[name] = Method(params, frozenset(acp_types), fn)
        return fn

    return register


def rpc_result(rpc_id: int | str | None, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rpc_id, "result": result, "error": None}


def rpc_error(rpc_id: int | str | None, message: str, code: int = INTERNAL_ERROR) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "result": None,
        "error": {"code": code, "message": message, "data": None},
    }


def _validation_error(exc: ValidationError, loc_prefix: tuple[str, ...]) -> RequestValidationError:
    return RequestValidationError(
        [
            {**e, "loc": (*loc_prefix, *e["loc"])}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
    )


async def _parse(request: Request) -> tuple[RpcRequest, Method, BaseModel]:
    try:
        raw = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise errors.Unprocessable("Request body is not valid JSON.") from None
    try:
        envelope = RpcRequest.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(exc, ("body",)) from None
    spec = METHODS.get(envelope.method)
    if spec is None:
        raise errors.Unprocessable(
            f"Unknown method {envelope.method!r}; expected one of {', '.join(sorted(METHODS))}."
        )
    try:
        params = spec.params.model_validate(envelope.params)
    except ValidationError as exc:
        raise _validation_error(exc, ("body", "params")) from None
    return envelope, spec, params


async def _dispatch(agent: dict[str, Any], request: Request, ctx_args: dict[str, Any]) -> Response:
    envelope, spec, params = await _parse(request)
    ctx = RpcContext(agent=agent, request=request, rpc_id=envelope.id, **ctx_args)
    try:
        if agent["status"] == "Deleted":
            raise errors.NotFound(f"Agent {agent['id']} not found")
        if agent["acp_type"] not in spec.acp_types:
            raise errors.BadRequest(
                f"Unsupported method: {envelope.method} for ACP type: {agent['acp_type']}"
            )
        if not agent["acp_url"]:
            raise errors.BadRequest(f"Agent {agent['id']} does not have an ACP URL configured")
        result = await spec.handler(ctx, params)
    except errors.AgentkeepError as exc:
        return responses.json(rpc_error(envelope.id, exc.message))
    if isinstance(result, Response):
        return result
    return responses.json(rpc_result(envelope.id, result))


@router.post("/agents/name/{name}/rpc")
async def rpc_by_name(
    name: str,
    request: Request,
    store: StoreDep,
    lifecycle: LifecycleDep,
    principal: PrincipalDep,
    rid: RequestIdDep,
    settings: SettingsDep,
) -> Response:
    row = await store.get_agent_by_name(name)
    if row is None:
        raise errors.NotFound.by_name(name)
    return await _dispatch(row, request, _ctx(store, lifecycle, principal, rid, settings))


@router.post("/agents/{agent_id}/rpc")
async def rpc_by_id(
    agent_id: str,
    request: Request,
    store: StoreDep,
    lifecycle: LifecycleDep,
    principal: PrincipalDep,
    rid: RequestIdDep,
    settings: SettingsDep,
) -> Response:
    row = await store.get_agent(agent_id)
    if row is None:
        raise errors.NotFound.by_id(agent_id)
    return await _dispatch(row, request, _ctx(store, lifecycle, principal, rid, settings))


def _ctx(
    store: SqlStore, lifecycle: Lifecycle, principal: Principal, rid: str, settings: Settings
) -> dict[str, Any]:
    return {
        "store": store,
        "lifecycle": lifecycle,
        "principal": principal,
        "request_id": rid,
        "settings": settings,
    }
