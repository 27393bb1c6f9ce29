"""Issue 7, item 5: task-less spans belong to their creator; API keys; the metrics key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from agentkeep import keys
from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.api.test_auth import OPS, UNAUTHORIZED, create_task, register
from tests.conftest import running_app

SPAN = {"trace_id": "t", "name": "n", "start_time": "2025-01-01T00:00:00Z"}


@pytest.fixture
async def api(db_url: str, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=db_url, api_keys="ops:ops-secret-key,ci:ci-secret-key")
    async with running_app(create_app(settings, store=store)) as c:
        yield c


async def test_taskless_spans_belong_to_the_agent_that_created_them(
    api: httpx.AsyncClient,
) -> None:
    mine, theirs = await register(api), await register(api)
    own = (await api.post("/spans", json=SPAN, headers=mine.headers)).json()
    foreign = (await api.post("/spans", json=SPAN, headers=theirs.headers)).json()
    operators = (await api.post("/spans", json=SPAN, headers=OPS)).json()
    h = mine.headers
    assert (await api.get(f"/spans/{own['id']}", headers=h)).status_code == 200
    r = await api.patch(f"/spans/{own['id']}", json={"name": "renamed"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "renamed"
    for span in (foreign, operators):
        missing = {"message": f"Item with id '{span['id']}' does not exist.", "code": 404}
        r = await api.get(f"/spans/{span['id']}", headers=h)
        assert r.status_code == 404 and r.json() == {**missing, "data": None}
        r = await api.patch(f"/spans/{span['id']}", json={"name": "stolen"}, headers=h)
        assert r.status_code == 404 and r.json() == {**missing, "data": None}
        assert (await api.get(f"/spans/{span['id']}", headers=OPS)).json()["name"] == "n"
    listed = (await api.get("/spans", params={"trace_id": "t"}, headers=h)).json()
    assert [s["id"] for s in listed] == [own["id"]]
    everything = (await api.get("/spans", headers=OPS)).json()
    assert {s["id"] for s in everything} == {own["id"], foreign["id"], operators["id"]}
    assert "creator_agent_id" not in everything[0]


async def test_spans_of_reachable_tasks_stay_visible_to_every_agent_reaching_them(
    api: httpx.AsyncClient,
) -> None:
    caller, callee = await register(api), await register(api)
    task = await create_task(api, callee, caller.headers)
    span = (
        await api.post("/spans", json={**SPAN, "task_id": task["id"]}, headers=caller.headers)
    ).json()
    r = await api.get(f"/spans/{span['id']}", headers=callee.headers)
    assert r.status_code == 200
    assert [s["id"] for s in (await api.get("/spans", headers=callee.headers)).json()] == [
        span["id"]
    ]


def test_api_keys_match_whole_keys_only() -> None:
    api_keys = keys.ApiKeys({"ops-secret-key": "ops", "ci-secret-key": "ci"})
    assert api_keys.name_of("ops-secret-key") == "ops"
    assert api_keys.name_of("ci-secret-key") == "ci"
    for wrong in (None, "", "ops-secret-ke", "ops-secret-keyy", "OPS-SECRET-KEY", "\ud800"):
        assert api_keys.name_of(wrong) is None
    assert not keys.ApiKeys({}) and keys.ApiKeys({}).name_of("ops-secret-key") is None


async def test_every_configured_api_key_authenticates(api: httpx.AsyncClient) -> None:
    for key in ("ops-secret-key", "ci-secret-key"):
        assert (await api.get("/tasks", headers={"x-api-key": key})).status_code == 200
    r = await api.get("/tasks", headers={"x-api-key": "ops-secret-key "})
    assert r.status_code == 401 and r.json() == UNAUTHORIZED


async def test_metrics_stay_open_by_default(api: httpx.AsyncClient) -> None:
    r = await api.get("/metrics")
    assert r.status_code == 200 and "agentkeep_task_changes" in r.text


async def test_metrics_can_require_an_api_key(db_url: str, store: SqlStore) -> None:
    settings = Settings(
        database_url=db_url, api_keys="ops:ops-secret-key", metrics_require_key=True
    )
    async with running_app(create_app(settings, store=store)) as api:
        agent = await register(api)
        for headers in ({}, {"x-api-key": "wrong-key-1"}, agent.headers):
            r = await api.get("/metrics", headers=headers)
            assert r.status_code == 401 and r.json() == UNAUTHORIZED
        for headers in (OPS, {"authorization": "Bearer ops-secret-key"}):
            r = await api.get("/metrics", headers=headers)
            assert r.status_code == 200 and "agentkeep_task_changes" in r.text
        assert (await api.get("/healthz")).status_code == 200


def test_metrics_key_without_api_keys_is_refused() -> None:
    with pytest.raises(ValidationError, match="AGENTKEEP_METRICS_REQUIRE_KEY needs"):
        Settings(metrics_require_key=True)


def test_agent_key_secret_must_be_long() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(agent_key_secret="short")
    assert Settings(agent_key_secret="").agent_key_secret is None
