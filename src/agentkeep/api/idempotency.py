"""``Idempotency-Key``: the same key with the same request replays the first response.

Scoped to (credential, method, path) and stored in the database, so a retry that lands on
another server process gets the same answer. A different request under a used key is 422;
a twin still in flight is waited for, then 400 (never 409: agentex-client would retry a
409 silently and forever).

The answer commits with the change (see ``store.idempotency``), and a claim is "in flight"
only while its request renews the lease: a retry after a crash either replays the answer
or, once the dead request's lease has run out, runs the request itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import Depends, Request, Response

from agentkeep import errors
from agentkeep.access import Principal
from agentkeep.api import responses
from agentkeep.api.deps import PrincipalDep, SettingsDep, StoreDep
from agentkeep.store import SqlStore
from agentkeep.store.idempotency import PENDING, Claim, ClaimLost
from agentkeep.store.rows import TaskRow

log = logging.getLogger(__name__)

#: How long a retry waits for its in-flight twin before giving up with 400. Longer than
#: the lease, so a retry of a request whose process died runs instead of being refused.
WAIT_FOR_TWIN_SECONDS = 10.0
POLL_SECONDS = 0.05
#: A claim whose lease was not renewed for this long belongs to a request that died.
LEASE_SECONDS = 5.0
RENEW_SECONDS = LEASE_SECONDS / 4
REPLAY_HEADER = "Idempotent-Replayed"


Handler = Callable[[], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Idempotent:
    """What a keyed route needs to run its change under ``Idempotency-Key``."""

    request: Request
    store: SqlStore
    principal: Principal
    ttl_seconds: int

    async def __call__(self, handler: Handler) -> Response:
        """``handler``'s answer, or the first one's when this request repeats a key."""
        return await run(self.request, self.store, self.principal, self.ttl_seconds, handler)


async def get_idempotent(
    request: Request, store: StoreDep, principal: PrincipalDep, settings: SettingsDep
) -> Idempotent:
    return Idempotent(request, store, principal, settings.idempotency_ttl_seconds)


IdempotencyDep = Annotated[Idempotent, Depends(get_idempotent)]


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
    handler: Handler,
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
    owner = uuid.uuid4().hex
    loop = asyncio.get_running_loop()
    give_up = loop.time() + WAIT_FOR_TWIN_SECONDS
    while (
        existing := await store.claim_idempotency_key(
            scope, fingerprint, owner=owner, ttl_seconds=ttl_seconds, lease_seconds=LEASE_SECONDS
        )
    ) is not None:
        if existing["request_hash"] != fingerprint:
            raise errors.Unprocessable(
                "Idempotency-Key was already used with a different request; use a new key."
            )
        if existing["state"] == "done":
            # A done record carries its answer: every writer of "done" sets all three.
            assert existing["status_code"] is not None and existing["body"] is not None
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
    return await _first(store, Claim(scope, owner, _task_answer), handler)


def _task_answer(row: TaskRow) -> tuple[int, str]:
    """The answer of every keyed route (transitions, PUT): the changed task."""
    response = responses.task(row)
    return response.status_code, bytes(response.body).decode()


async def _first(store: SqlStore, claim: Claim, handler: Handler) -> Response:
    token = PENDING.set(claim)
    keeper = asyncio.create_task(_renew(store, claim))
    try:
        response = await handler()
    except errors.ClientError as exc:
        # A refusal is an answer too: the retry must see the same 400/404/412.
        response = responses.error_response(exc)
    except ClaimLost:
        # This request outlived its lease and a retry ran it: the retry's answer counts.
        raise errors.Unavailable(
            "A retry of this request took over its Idempotency-Key; retry to get its answer."
        ) from None
    except BaseException:
        await _release(store, claim)
        raise
    finally:
        PENDING.reset(token)
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
    if not claim.stored:
        await store.finish_idempotency_key(
            claim.scope_hash, claim.owner, response.status_code, bytes(response.body).decode()
        )
    return response


async def _renew(store: SqlStore, claim: Claim) -> None:
    """Renew the claim's lease while the request runs, so no retry takes it over."""
    while True:
        await asyncio.sleep(RENEW_SECONDS)
        try:
            await store.renew_idempotency_claim(claim.scope_hash, claim.owner)
        except errors.AgentkeepError as exc:
            log.warning("could not renew an Idempotency-Key claim: %s", exc)


async def _release(store: SqlStore, claim: Claim) -> None:
    try:
        await store.release_idempotency_key(claim.scope_hash, claim.owner)
    except errors.AgentkeepError as exc:
        # The database is away: the claim's lease runs out by itself.
        log.warning("could not release an Idempotency-Key claim: %s", exc)


def _replay_headers(body: str) -> dict[str, str]:
    headers = {REPLAY_HEADER: "true"}
    try:
        version = orjson.loads(body).get("version")
    except (orjson.JSONDecodeError, AttributeError):
        version = None
    if isinstance(version, int):
        headers["ETag"] = f'"{version}"'
    return headers
