"""Server-sent event frames, byte-compatible with Agentex by default.

Agentex sends ``data: <json>`` frames and a ``:ping`` comment after a quiet spell, never an
``id:`` line. agentkeep adds ``id:`` only when the client opts in: agentex-client's decoder
raises on the blank line after a keepalive once it has seen an id, and agentex-sdk's reader
drops frames that begin with ``id:``. For the same decoder, the keepalive sent to a client
that opted in is the bare comment line without the blank line after it.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

#: The keepalive without ids (Agentex's bytes).
PING = b":ping\n\n"
#: The keepalive with ids: a comment line alone, so no empty event is dispatched.
PING_WITH_IDS = b":ping\n"

#: Headers of every stream response (``X-Accel-Buffering`` keeps nginx from buffering).
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
MEDIA_TYPE = "text/event-stream"

TOO_SLOW = "viewer too slow; reconnect"


#: Every line ending an SSE parser honours: a bare CR ends a line too.
_LINE_BREAK = re.compile("\r\n|\r|\n")


def frame(data: str, entry_id: str | None = None) -> bytes:
    """One event frame for already-encoded JSON; multi-line data becomes several lines.

    Split on CR as well as LF: an entry written by a foreign client with a raw CR would
    otherwise end the ``data:`` line early, and what follows could start a new field.
    """
    head = f"id: {entry_id}\n" if entry_id is not None else ""
    body = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return f"{head}{body}\n".encode()


def encode_event(event: dict[str, Any], entry_id: str | None = None) -> bytes:
    return frame(orjson.dumps(event).decode(), entry_id)


def connected(task_id: str) -> bytes:
    return encode_event({"type": "connected", "taskId": task_id})


def error(message: str) -> bytes:
    return encode_event({"type": "error", "message": message})


def keepalive(with_ids: bool) -> bytes:
    return PING_WITH_IDS if with_ids else PING
