"""The JSON-RPC 2.0 envelope: the request shape, result and error bodies, error codes.

Agentex's rules, kept: a malformed envelope, an unknown method or invalid params is HTTP
422 (raised by the route); every failure inside dispatch is HTTP 200 with an ``error``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field

#: Agentex answers every failure inside a method with this code.
INTERNAL_ERROR = -32603

RpcId = int | str | None


class RpcRequest(BaseModel):
    jsonrpc: Literal["2.0"] = "2.0"
    method: str
    params: dict[str, Any] = Field(default_factory=dict)
    id: RpcId = None


def result(rpc_id: RpcId, value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rpc_id, "result": value, "error": None}


def error(rpc_id: RpcId, message: str, code: int = INTERNAL_ERROR) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "result": None,
        "error": {"code": code, "message": message, "data": None},
    }


def line(obj: dict[str, Any]) -> bytes:
    """One NDJSON line."""
    return orjson.dumps(obj) + b"\n"


@dataclass(frozen=True, slots=True)
class Streamed:
    """A method's answer that is a stream of NDJSON lines (``message/send`` with ``stream``).

    Returned instead of a result value so the methods stay free of HTTP: the route turns
    it into a streaming response; an in-process caller may iterate it.
    """

    lines: AsyncIterator[bytes]
