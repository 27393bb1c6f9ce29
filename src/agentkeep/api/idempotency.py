"""``Idempotency-Key``: the same key with the same request replays the first response.

Scoped to (credential, method, path) and stored in the database, so a retry that lands on
another server process gets the same answer. A different request under a used key is 422;
a twin still in flight is waited for, then 400 (never 409: agentex-client would retry a
409 silently and forever).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

import orjson
from fastapi import Request, Response

from agentkeep import errors
from agentkeep.api import responses
from agentkeep.api.deps import Principal
from agentkeep.store import SqlStore

#: How long a retry waits for its in-flight twin before giving up with 400.
WAIT_FOR_TWIN_SECONDS = 10.0
POLL_SECONDS = 0.05
#: An in-flight claim older than this belongs to a request whose process died.
STALE_CLAIM_SECONDS = 60.0
REPLAY_HEADER = "Idempotent-Replayed"


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "big"))
        h.update(p)
    return h.hexdigest()


async def run(
    request: Request,
    store: SqlStore,
    principal: Principal,
    ttl_seconds: int,
    handler: Callable[[], Awaitable[Response]],
) -> Response:
    key = request.headers.get("idempotency-key")
    if not key:
        return await handler()
    if len(key) > 255:
        raise errors.BadRequest("Idempotency-Key must be at most 255 characters.")
    scope = _sha(
        principal.credential.encode(),
        request.method.encode(),
        request.url.path.encode(),
        key.encode(),
    )
    fingerprint = _sha(await request.body(), (request.headers.get("if-match") or "").encode())
    loop = asyncio.get_running_loop()
    give_up = loop.time() + WAIT_FOR_TWIN_SECONDS
    while (
        existing := await store.claim_idempotency_key(
            scope, fingerprint, ttl_seconds=ttl_seconds, stale_seconds=STALE_CLAIM_SECONDS
        )
    ) is not None:
        if existing["request_hash"] != fingerprint:
            raise errors.Unprocessable(
                "Idempotency-Key was already used with a different request; use a new key."
            )
        if existing["state"] == "done":
            return Response(
                existing["body"],
                status_code=existing["status_code"],
                media_type="application/json",
                headers=_replay_headers(existing["body"]),
            )
        if loop.time() >= give_up:
            raise errors.BadRequest(
                "A request with this Idempotency-Key is still in progress; retry later."
            )
        await asyncio.sleep(POLL_SECONDS)
    return await _first(store, scope, handler)


async def _first(
    store: SqlStore, scope: str, handler: Callable[[], Awaitable[Response]]
) -> Response:
    try:
        response = await handler()
    except errors.ClientError as exc:
        # A refusal is an answer too: the retry must see the same 400/404/412.
        response = responses.error_response(exc)
    except BaseException:
        await store.release_idempotency_key(scope)
        raise
    await store.finish_idempotency_key(scope, response.status_code, bytes(response.body).decode())
    return response


def _replay_headers(body: str) -> dict[str, str]:
    headers = {REPLAY_HEADER: "true"}
    try:
        version = orjson.loads(body).get("version")
    except (orjson.JSONDecodeError, AttributeError):
        version = None
    if isinstance(version, int):
        headers["ETag"] = f'"{version}"'
    return headers
