"""A fast lane for ``GET /tasks/{id}``, the request clients repeat most.

Through FastAPI's router and dependency solving this read spent more CPU on the framework
than on the database. This ASGI middleware answers the plain form of it — no query string,
a caller that needs no per-task authorization check — before routing, with the very same
functions the route uses (``live.task``, ``models.task_wire``), so the bytes are identical.
Every other request, including agent-key callers (whose reach depends on the task) and
``?relationships=agents``, goes through the normal route.
"""

from __future__ import annotations

import orjson
from starlette.datastructures import State
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from agentkeep import errors
from agentkeep.api import deps, responses
from agentkeep.domain import live, models
from agentkeep.metrics import ROUTE_KEY

PREFIX = "/tasks/"
#: The route this lane answers for, as the router names it (the metrics' route label).
ROUTE = "/tasks/{task_id}"


class TaskReadFastPath:
    """``state`` is the app's: the store and settings are read from it per request (the
    lifespan fills it after the middleware is built)."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task_id = _plain_task_get(scope)
        if task_id is None or not self._unrestricted(scope):
            await self.app(scope, receive, send)
            return
        scope[ROUTE_KEY] = ROUTE
        try:
            row = live.task(await self.state.store.get_task(task_id), task_id)
        except errors.AgentkeepError as exc:
            await responses.error_response(exc)(scope, receive, send)
            return
        # Raw ASGI messages: a Response object would rebuild the same two headers each time.
        body = orjson.dumps(models.task_wire(row))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"etag", models.etag(row["version"]).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _unrestricted(self, scope: Scope) -> bool:
        """Whether the caller may read any task: what ``get_principal`` + ``TaskAccess``
        decide.

        Agent keys are left to the route (their reach is per task, and an unknown one is
        401). Without API keys configured, the headers are scanned once and no ``Request``
        is built.
        """
        for name, _ in scope["headers"]:
            if name == b"x-agent-api-key":
                return False
        api_keys = self.state.settings.api_key_set
        return not api_keys or api_keys.name_of(deps.api_key_of(Request(scope))) is not None


def _plain_task_get(scope: Scope) -> str | None:
    """The id of a ``GET /tasks/{id}`` without query string, else None."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope["query_string"]:
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    task_id = path[len(PREFIX) :]
    if not task_id or "/" in task_id:
        return None
    return task_id
