"""JSON-RPC 2.0 envelopes as agents see them, and the checks on what they answer.

Every way an answer can be wrong becomes ``AgentProtocolError`` here; an answer that is a
well-formed JSON-RPC error becomes ``AgentRpcError`` carrying the agent's own message.
"""

from __future__ import annotations

from typing import Any

import orjson

from agentkeep import errors


class AgentRpcError(errors.UpstreamError):
    """The agent answered with a JSON-RPC error"""


def request(method: str, params: dict[str, Any], rpc_id: str) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": rpc_id})


def decode(raw: bytes | str, agent_name: str) -> dict[str, Any]:
    """Parse one JSON-RPC response object; anything else is a protocol error."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.AgentProtocolError(
            f"Agent {agent_name} answered with something that is not JSON."
        ) from None
    if not isinstance(body, dict) or ("result" not in body and "error" not in body):
        raise errors.AgentProtocolError(
            f"Agent {agent_name} answered with JSON that is not a JSON-RPC response."
        )
    return body


def result_of(body: dict[str, Any], expected_id: str, agent_name: str) -> Any:
    """The ``result`` of a response, after checking its id and its ``error`` member."""
    if body.get("id") != expected_id:
        # A mismatched id means the answer belongs to another call (a confused proxy, a
        # buggy agent multiplexing calls): acting on it could apply someone else's result.
        raise errors.AgentProtocolError(
            f"Agent {agent_name} answered JSON-RPC id {body.get('id')!r}, expected {expected_id!r}."
        )
    error = body.get("error")
    if error is not None:
        message = error.get("message") if isinstance(error, dict) else None
        raise AgentRpcError(f"Agent {agent_name} returned an error: {message or error!s}")
    return body.get("result")
