"""Refuse request bodies over ``AGENTKEEP_MAX_BODY_BYTES`` with 413, declared or streamed.

A declared length is checked before the body is read (the server holds the client to it);
a chunked body is read here first, so that an oversized one is refused with 413 before any
route parses it (FastAPI would turn an error raised mid-parse into a generic 400).
"""

from __future__ import annotations

from fastapi import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentkeep import errors
from agentkeep.api import responses


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None and declared.isdigit():
            # The server holds the client to its declared length, so checking it suffices.
            if int(declared) > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if declared is None and not chunked:
            # HTTP/1.1 without either header: the request has no body (most GETs).
            await self.app(scope, receive, send)
            return
        # A chunked body (no declared length): read ahead, then replayed to the app.
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            seen += len(message.get("body", b""))
            if seen > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)


def _too_large_message(limit: int) -> str:
    return f"Request body too large: the limit is {limit} bytes (AGENTKEEP_MAX_BODY_BYTES)."


def _too_large(limit: int) -> Response:
    return responses.error_response(errors.PayloadTooLarge(_too_large_message(limit)))
