"""Response helpers: orjson bodies, the error envelope, ETags."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from agentkeep.domain import models
from agentkeep.errors import AgentkeepError
from agentkeep.store.rows import TaskRow


def json(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(content),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


def envelope(message: str, code: int, data: Any = None) -> dict[str, Any]:
    return {"message": message, "code": code, "data": data}


def error_response(exc: AgentkeepError) -> Response:
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return json(envelope(exc.message, exc.status_code, exc.data), exc.status_code, headers)


def task(row: TaskRow, status_code: int = 200) -> Response:
    """A Task with its ``ETag``."""
    return json(models.task_wire(row), status_code, {"ETag": models.etag(row["version"])})
