"""Per-field limits of request bodies, and ``CheckedBody``, the base of every body model.

Sizes are bounded per field so that no single value can make a list response huge (a
10 MB ``status_reason`` is returned by every ``GET /tasks`` page): the whole body is
bounded by ``AGENTKEEP_MAX_BODY_BYTES`` (413), each field below by its own limit (422).
README.md, "Limits", lists them for users.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, Field, model_validator

from agentkeep.domain import jsonlimits

#: Names: tasks, agents, spans, traces (the columns' own limit).
MAX_NAME_CHARS = 255
#: Status reasons (transitions, trackers) and agent descriptions.
MAX_REASON_CHARS = 4096
MAX_DESCRIPTION_CHARS = 8192
#: ``task_metadata`` and ``registration_metadata``, as compact JSON: list pages carry them.
MAX_METADATA_BYTES = 64 * 1024

Name = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
Reason = Annotated[str, Field(max_length=MAX_REASON_CHARS)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)]


def _metadata_size(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        size = len(orjson.dumps(value))
        if size > MAX_METADATA_BYTES:
            raise ValueError(
                f"metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES} bytes"
            )
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_metadata_size)]

#: Client times are stored in UTC; this margin keeps later arithmetic (a batch's
#: per-message milliseconds) inside ``datetime``'s range too.
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def in_utc(value: datetime) -> datetime:
    """``value`` in UTC (naive means UTC); ValueError when out of range."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        out = value.astimezone(UTC)
    except OverflowError:
        out = None
    if out is None or not _EARLIEST <= out <= _LATEST:
        raise ValueError("the time must lie between 0001-01-02 and 9999-12-30 in UTC")
    return out


#: A client-supplied time, converted to UTC; one beyond ``datetime``'s range is 422.
UtcDatetime = Annotated[datetime, AfterValidator(in_utc)]


class CheckedBody(BaseModel):
    """Base of every request body: the raw JSON passes ``jsonlimits`` before field parsing.

    The refusal is raised as ``errors.BadRequest`` on purpose, not as a ``ValueError``:
    pydantic lets other exceptions through unchanged, so a NUL character, a 65-bit
    integer or a 100-level nesting is the same 400 with the same message in a body, a
    query value or a path, on both databases.
    """

    @model_validator(mode="before")
    @classmethod
    def _within_json_limits(cls, data: Any) -> Any:
        return jsonlimits.check_json(data, "Request body")
