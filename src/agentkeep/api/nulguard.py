"""Refuse a NUL character in a URL's path or query before any route sees it.

Postgres cannot hold NUL in text (a lookup raised a driver error), SQLite can (the same
request answered 404, or stored the value): one check here gives one answer, the same
400 and message as a NUL inside a JSON body (``jsonlimits``), on both databases.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from agentkeep import errors
from agentkeep.api import responses
from agentkeep.domain import jsonlimits

MESSAGE = f"Request refused: {jsonlimits.NUL_MESSAGE}."


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")
        ):
            await responses.error_response(errors.BadRequest(MESSAGE))(scope, receive, send)
            return
        await self.app(scope, receive, send)
