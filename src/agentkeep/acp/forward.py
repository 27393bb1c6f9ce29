"""Relaying one HTTP request to an agent's own routes, and its answer back, streamed.

The forward ingress's transport: no retry (a webhook delivery is not idempotent), no
redirects followed (a redirect could point the server at anything), one timeout for
connecting and for each read. The caller's credentials never reach the agent; the agent
gets its own key instead, as on every server-to-agent call.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable

import httpx
from starlette.responses import StreamingResponse

from agentkeep import errors
from agentkeep.acp.client import AgentTarget

log = logging.getLogger(__name__)

#: RFC 9110 hop-by-hop headers: they describe one connection, not the message.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
#: Never handed to the agent: connection details the server re-creates, and the caller's
#: credentials (a caller's key is for the server, not for the agent behind it).
REQUEST_DROPPED = frozenset(
    {"host", "content-length", "expect", "cookie", "x-api-key", "x-agent-api-key"}
)


def _connection_listed(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Headers a ``Connection`` header names are hop-by-hop too."""
    listed: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            listed.update(v.strip().lower() for v in value.split(",") if v.strip())
    return listed


def request_headers(
    incoming: list[tuple[str, str]],
    target: AgentTarget,
    request_id: str,
    *,
    strip_authorization: bool,
) -> list[tuple[str, str]]:
    """The caller's headers minus hop-by-hop and credentials; then the agent's own key."""
    dropped = HOP_BY_HOP | REQUEST_DROPPED | _connection_listed(incoming)
    if strip_authorization:
        dropped = dropped | {"authorization"}
    out = [(k, v) for k, v in incoming if k.lower() not in dropped and k.lower() != "x-request-id"]
    if target.api_key:
        out.append(("x-agent-api-key", target.api_key))
    out.append(("x-request-id", request_id))
    return out


def response_headers(incoming: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """The agent's headers minus hop-by-hop and ``content-length`` (the body is streamed);
    ``content-encoding`` stays: the body passes through still encoded."""
    dropped = HOP_BY_HOP | {"content-length"} | _connection_listed(incoming)
    return [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in incoming
        if k.lower() not in dropped
    ]


async def relay(
    http: httpx.AsyncClient,
    *,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    agent_name: str,
    timeout: float,
) -> StreamingResponse:
    """Send the request; answer with the agent's status, headers and streamed body.

    Failures before the agent's headers arrive are 502 (unreachable) or 504 (too slow)
    [fix: 500 in Agentex]; after that the status is sent, so a failure can only cut the body.
    """
    try:
        request = http.build_request(
            method, url, headers=headers, content=body, timeout=httpx.Timeout(timeout)
        )
        response = await http.send(request, stream=True, follow_redirects=False)
    except httpx.TimeoutException:
        raise errors.AgentTimeout(f"Agent {agent_name} did not answer in time.") from None
    except (httpx.HTTPError, httpx.InvalidURL):
        # InvalidURL: an agent registered with an URL nothing can be sent to.
        raise errors.AgentUnavailable(f"Agent {agent_name} is unreachable.") from None
    answer = StreamingResponse(_body(response), status_code=response.status_code)
    answer.raw_headers = response_headers(list(response.headers.multi_items()))
    return answer


async def _body(response: httpx.Response) -> AsyncIterator[bytes]:
    """The raw bytes as they arrive (still compressed if they were); always closed."""
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        # The status line is gone already: ending the body early is all that is left.
        log.warning("forwarded answer cut short: %s", type(exc).__name__)
    finally:
        await response.aclose()
