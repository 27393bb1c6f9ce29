"""Bad input is a clear 4xx with the envelope, never a 500, and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentkeep.api import health
from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import free_port as closed_port
from tests.conftest import running_app

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/tasks/{id}/complete", b"{not json"),
        ("POST", "/tasks/{id}/complete", b'{"reason": 5}'),
        ("POST", "/tasks/{id}/complete", b'"just a string"'),
        ("PUT", "/tasks/{id}", b"{not json"),
        ("PUT", "/tasks/{id}", b'{"merge_params": "x"}'),
        ("POST", "/agents/register", b"[]"),
    ],
)
async def test_malformed_bodies(
    client: httpx.AsyncClient, task_factory: Any, method: str, path: str, body: bytes
) -> None:
    task = await task_factory(task_metadata={"keep": True})
    r = await client.request(method, path.format(id=task["id"]), content=body, headers=JSON)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == 422 and "errors" in r.json()["data"]
    after = (await client.get(f"/tasks/{task['id']}")).json()
    assert (after["status"], after["version"], after["task_metadata"]) == (
        "RUNNING",
        1,
        {"keep": True},
    )


async def test_unknown_fields_are_ignored(client: httpx.AsyncClient, task_factory: Any) -> None:
    task = await task_factory()
    r = await client.post(f"/tasks/{task['id']}/complete", json={"reason": "r", "extra": {"x": 1}})
    assert r.status_code == 200 and r.json()["status_reason"] == "r"


async def test_unknown_route_and_method_use_the_envelope(client: httpx.AsyncClient) -> None:
    r = await client.get("/nowhere")
    assert r.json() == {"message": "Not Found", "code": 404, "data": None}
    r = await client.patch("/tasks")
    assert r.status_code == 405 and r.json()["code"] == 405


async def test_body_over_the_limit_is_413(db_url: str, store: SqlStore, task_factory: Any) -> None:
    settings = Settings(database_url=db_url, max_body_bytes=1024, background_workers=False)
    async with running_app(create_app(settings, store=store)) as small:
        r = await small.put("/tasks/x", json={"task_metadata": {"blob": "x" * 2000}})
        assert r.status_code == 413 and r.json()["code"] == 413

        async def chunks():  # no Content-Length: the limit must hold for streamed bodies too
            for _ in range(4):
                yield b" " * 400

        r = await small.post("/agents/register", content=chunks(), headers=JSON)
        assert r.status_code == 413


async def test_health_routes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    assert (await client.get("/healthcheck")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["version"] == "0.1.0"
    assert (await client.get("/swagger")).status_code == 200
    assert (await client.get("/docs")).status_code == 200
    assert b"agentkeep_task_changes" in (await client.get("/metrics")).content


async def test_healthz_answers_what_its_documented_endpoint_returns(
    client: httpx.AsyncClient,
) -> None:
    # ``HealthzRoute`` answers as plain ASGI; the endpoint OpenAPI documents must agree.
    r = await client.get("/healthz")
    documented = await health.healthz()
    assert (r.status_code, r.content) == (documented.status_code, documented.body)
    assert sorted(r.headers.multi_items()) == sorted(
        (k.decode(), v.decode()) for k, v in documented.raw_headers
    )
    spec = (await client.get("/openapi.json")).json()
    schema = spec["paths"]["/healthz"]["get"]["responses"]["200"]["content"]
    assert schema["application/json"]["schema"] == {"$ref": "#/components/schemas/Health"}
    assert (await client.head("/healthz")).status_code == 405  # GET only, as before


async def test_readyz_reports_a_dead_database() -> None:
    # A closed port: the connect fails at once and in-loop (asyncpg has no worker thread
    # that could outlive the test's event loop, as aiosqlite's does after a failed connect).
    settings = Settings(
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/none",
        background_workers=False,
        db_connect_timeout_seconds=1,
    )
    async with running_app(create_app(settings)) as c:
        r = await c.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "degraded"


@pytest.mark.parametrize(
    "path",
    [
        "/tasks/a%00b",
        "/tasks/name/a%00b",
        "/agents/a%00b",
        "/agents/name/a%00b",
        "/tasks/" + "x" * 300,
    ],
)
async def test_ids_the_database_cannot_hold_are_4xx(client: httpx.AsyncClient, path: str) -> None:
    # A NUL byte cannot be a Postgres text value: the lookup must say "bad input", not 500.
    r = await client.get(path)
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) == {"message", "code", "data"}
