"""The UI's session cookie (issue 7, item 4): how it is set, and what it alone may do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.api.test_auth import OPS, UNAUTHORIZED, create_task, register
from tests.conftest import running_app

COOKIE = {"cookie": "agentkeep_api_key=ops-secret-key"}
SAME_ORIGIN = {**COOKIE, "origin": "http://test"}
JSON = {"content-type": "application/json"}
CROSS_SITE = (
    "Cross-site requests cannot use the session cookie: send the API key in x-api-key or "
    "Authorization: Bearer instead."
)
NOT_JSON = "Requests authenticated by the session cookie must send JSON (application/json)."


@pytest.fixture
async def api(db_url: str, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=db_url, api_keys="ops:ops-secret-key")
    async with running_app(create_app(settings, store=store)) as c:
        yield c


def refused(message: str) -> dict[str, Any]:
    return {"message": message, "code": 403, "data": None}


async def test_session_sets_a_strict_http_only_cookie(api: httpx.AsyncClient) -> None:
    r = await api.post("/auth/session", json={"api_key": "ops-secret-key"})
    assert r.status_code == 204 and r.content == b""
    assert r.headers["set-cookie"] == (
        "agentkeep_api_key=ops-secret-key; HttpOnly; Path=/; SameSite=Strict"
    )
    r = await api.delete("/auth/session", headers=SAME_ORIGIN)
    assert r.status_code == 204
    assert r.headers["set-cookie"] == (
        'agentkeep_api_key=""; HttpOnly; Max-Age=0; Path=/; SameSite=Strict'
    )


async def test_session_cookie_is_secure_over_https(db_url: str, store: SqlStore) -> None:
    settings = Settings(database_url=db_url, api_keys="ops:ops-secret-key")
    app = create_app(settings, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://ui.example") as c:
            r = await c.post("/auth/session", json={"api_key": "ops-secret-key"})
    assert r.status_code == 204
    assert r.headers["set-cookie"].split("; ") == [
        "agentkeep_api_key=ops-secret-key",
        "HttpOnly",
        "Path=/",
        "SameSite=Strict",
        "Secure",
    ]


async def test_session_needs_a_configured_api_key(
    api: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    agent = await register(api)
    for key in ("wrong-key-123", agent.key):
        r = await api.post("/auth/session", json={"api_key": key})
        assert r.status_code == 401 and r.json() == UNAUTHORIZED
        assert "set-cookie" not in r.headers
    for body in ({}, {"api_key": ""}, {"api_key": 5}):
        r = await api.post("/auth/session", json=body)
        assert r.status_code == 422 and "set-cookie" not in r.headers
    r = await client.post("/auth/session", json={"api_key": "ops-secret-key"})
    assert r.status_code == 400 and r.json()["message"] == (
        "No API keys are configured (AGENTKEEP_API_KEYS), so no session is needed."
    )


async def test_cookie_authenticates_reads_and_streams(api: httpx.AsyncClient) -> None:
    agent = await register(api)
    task = await create_task(api, agent, OPS)
    # No Origin: a plain GET, an EventSource, and the UI's reads all change nothing.
    assert (await api.get(f"/tasks/{task['id']}", headers=COOKIE)).status_code == 200
    assert (await api.get("/tasks", headers=COOKIE)).status_code == 200
    cross = {**COOKIE, "sec-fetch-site": "cross-site"}
    assert (await api.get("/agents", headers=cross)).status_code == 200
    await api.post(f"/tasks/{task['id']}/complete", json={}, headers=OPS)
    r = await api.get(f"/tasks/{task['id']}/stream", headers=COOKIE)
    assert r.status_code == 200 and "connected" in r.text


@pytest.mark.parametrize(
    ("headers", "content", "message"),
    [
        # A cross-site HTML form: urlencoded, from another origin or none.
        (
            {**COOKIE, "content-type": "application/x-www-form-urlencoded"},
            b"reason=x",
            CROSS_SITE,
        ),
        (
            {**SAME_ORIGIN, "content-type": "application/x-www-form-urlencoded"},
            b"reason=x",
            NOT_JSON,
        ),
        ({**SAME_ORIGIN, "content-type": "text/plain"}, b'{"reason": "x"}', NOT_JSON),
        ({**COOKIE, **JSON}, b"{}", CROSS_SITE),
        # An empty credential header does not replace the cookie, so it does not count.
        ({**COOKIE, **JSON, "x-api-key": "", "x-agent-api-key": ""}, b"{}", CROSS_SITE),
        ({**COOKIE, **JSON, "origin": "https://evil.example"}, b"{}", CROSS_SITE),
        ({**COOKIE, **JSON, "origin": "http://test:8080"}, b"{}", CROSS_SITE),
        ({**COOKIE, **JSON, "origin": "null"}, b"{}", CROSS_SITE),
        ({**SAME_ORIGIN, **JSON, "sec-fetch-site": "cross-site"}, b"{}", CROSS_SITE),
        ({**SAME_ORIGIN, **JSON, "sec-fetch-site": "same-site"}, b"{}", CROSS_SITE),
        ({**COOKIE, "sec-fetch-site": "same-origin", "content-type": "text/plain"}, b"x", NOT_JSON),
    ],
)
async def test_cookie_alone_refuses_forgeable_writes(
    api: httpx.AsyncClient, headers: dict[str, str], content: bytes, message: str
) -> None:
    agent = await register(api)
    task = await create_task(api, agent, OPS)
    r = await api.post(f"/tasks/{task['id']}/complete", content=content, headers=headers)
    assert r.status_code == 403 and r.json() == refused(message)
    assert (await api.get(f"/tasks/{task['id']}", headers=OPS)).json() == task


async def test_cookie_alone_refuses_a_text_plain_rpc(api: httpx.AsyncClient) -> None:
    agent = await register(api)
    rpc = b'{"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {"name": "csrf"}}'
    headers = {**COOKIE, "content-type": "text/plain"}
    r = await api.post(f"/agents/{agent.id}/rpc", content=rpc, headers=headers)
    assert r.status_code == 403 and r.json() == refused(CROSS_SITE)
    r = await api.post(f"/agents/{agent.id}/rpc", content=rpc, headers={**SAME_ORIGIN, **headers})
    assert r.status_code == 403 and r.json() == refused(NOT_JSON)
    assert (await api.get("/tasks/name/csrf", headers=OPS)).status_code == 404


@pytest.mark.parametrize(
    "extra",
    [
        {"origin": "http://test"},
        {"origin": "http://TEST:80"},
        {"sec-fetch-site": "same-origin"},
        {"origin": "http://test", "sec-fetch-site": "same-origin"},
    ],
)
async def test_cookie_with_json_from_the_same_origin_writes(
    api: httpx.AsyncClient, extra: dict[str, str]
) -> None:
    agent = await register(api)
    task = await create_task(api, agent, OPS)
    headers = {**COOKIE, **extra, "content-type": "application/json; charset=utf-8"}
    r = await api.post(f"/tasks/{task['id']}/complete", content=b"{}", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "COMPLETED"
    r = await api.delete(f"/tasks/{task['id']}", headers={**COOKIE, **extra})
    assert r.status_code == 200


async def test_header_credentials_are_not_held_to_the_cookie_rules(
    api: httpx.AsyncClient,
) -> None:
    agent = await register(api)
    rpc = b'{"jsonrpc": "2.0", "id": 1, "method": "task/create", "params": {}}'
    for credential in (OPS, {"authorization": "Bearer ops-secret-key"}, agent.headers):
        # A page on another site cannot set these headers, so no forgery is possible.
        headers = {**COOKIE, **credential, "content-type": "text/plain"}
        r = await api.post(f"/agents/{agent.id}/rpc", content=rpc, headers=headers)
        assert r.status_code == 200 and r.json()["error"] is None, r.text


async def test_without_api_keys_the_cookie_guards_nothing(client: httpx.AsyncClient) -> None:
    r = await client.post("/agents/register-build", json={"name": "b"}, headers=COOKIE)
    assert r.status_code == 200
