"""The exception tree. Each class carries its HTTP status; ``app`` renders every one as
Agentex's envelope ``{"message", "code", "data"}``. Docstrings are the default messages.

    AgentkeepError
    ├── ClientError (400)
    │   ├── BadRequest (400)
    │   ├── InvalidTransition (400)      not allowed from the current status, or lost race
    │   ├── ItemAlreadyExists (400)      a unique key taken (never 409: clients retry 409)
    │   ├── NotFound (404)
    │   │   └── TaskNotFound (404)       DELETED tasks
    │   ├── Unauthorized (401)
    │   ├── Forbidden (403)
    │   ├── PreconditionFailed (412)     If-Match did not match
    │   ├── PayloadTooLarge (413)
    │   └── Unprocessable (422)
    └── UpstreamError (502)              an agent failed us
        ├── AgentUnavailable (502)       could not reach it, or it timed out
        ├── AgentProtocolError (502)     it answered something that is not the protocol
        └── AgentTimeout (504)           the forward ingress gave up waiting for it
    Unavailable (503, Retry-After)       retry shortly: nothing was changed
    ├── BusUnavailable (503)             the event bus (Redis) cannot be reached
    ├── DatabaseUnavailable (503)        the database cannot be reached in time
    └── AtCapacity (503)                 the process serves as many connections as it may
"""

from __future__ import annotations

from typing import Any, ClassVar


class AgentkeepError(Exception):
    """Internal server error"""

    status_code: ClassVar[int] = 500

    def __init__(self, message: str | None = None, *, data: Any = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        self.data = data
        super().__init__(self.message)


class ClientError(AgentkeepError):
    """Bad request"""

    status_code = 400


class BadRequest(ClientError):
    """Bad request"""


class InvalidTransition(ClientError):
    """The task cannot be transitioned from its current status."""


class ItemAlreadyExists(ClientError):
    """Item already exists. Please check all unique constraints and try again."""


class NotFound(ClientError):
    """Not found"""

    status_code = 404

    @classmethod
    def by_id(cls, item_id: str) -> NotFound:
        return cls(f"Item with id '{item_id}' does not exist.")

    @classmethod
    def by_name(cls, name: str) -> NotFound:
        return cls(f"Item with name '{name}' does not exist.")


class TaskNotFound(NotFound):
    """Task not found"""


class Unauthorized(ClientError):
    """Unauthorized"""

    status_code = 401


class Forbidden(ClientError):
    """Forbidden"""

    status_code = 403


class PreconditionFailed(ClientError):
    """The task's version does not match If-Match; read it again and retry."""

    status_code = 412


class PayloadTooLarge(ClientError):
    """Request body too large"""

    status_code = 413


class Unprocessable(ClientError):
    """Unprocessable request"""

    status_code = 422


class UpstreamError(AgentkeepError):
    """The agent failed"""

    status_code = 502


class AgentUnavailable(UpstreamError):
    """The agent could not be reached"""


class AgentProtocolError(UpstreamError):
    """The agent answered outside the ACP protocol"""


class AgentTimeout(UpstreamError):
    """The agent did not answer in time"""

    status_code = 504


class Unavailable(AgentkeepError):
    """The service is temporarily unavailable; retry shortly"""

    status_code = 503
    #: Seconds a client should wait before retrying (the ``Retry-After`` header).
    retry_after: ClassVar[int] = 1


class BusUnavailable(Unavailable):
    """The event bus is unavailable; retry shortly"""


class DatabaseUnavailable(Unavailable):
    """The database is unavailable; retry shortly"""


class AtCapacity(Unavailable):
    """This server is at capacity; retry shortly"""
