"""Who may call the schedule routes, what a schedule remembers of its creator, and the
fire-time check that the creator's API key is still configured; ``/metrics``."""

from __future__ import annotations

from typing import Any

import httpx

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import running_app

OPS = "ops-key-123456"
ADMIN = "admin-key-123456"
BODY = {"name": "nightly", "cron_expression": "0 3 * * *", "initial_input": {"content": "go"}}


async def register(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    body = {"name": name, "description": "d", "acp_url": "http://127.0.0.1:9", "acp_type": "async"}
    r = await client.post("/agents/register", json=body, headers={"x-api-key": ADMIN})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_agent_keys_reach_only_their_own_agent(db_url: str, store: SqlStore) -> None:
    settings = Settings(database_url=db_url, api_keys=f"ops:{OPS},admin:{ADMIN}")
    async with running_app(create_app(settings, store=store)) as client:
        mine, other = await register(client, "mine"), await register(client, "other")
        as_mine = {"x-agent-api-key": mine["agent_api_key"]}
        r = await client.post(f"/agents/{mine['id']}/schedules", json=BODY, headers=as_mine)
        assert r.status_code == 200
        assert r.json()["creator_principal"] == {
            "principal_type": "agent",
            "user_id": None,
            "service_account_id": mine["id"],
            "account_id": None,
        }
        r = await client.post(f"/agents/{other['id']}/schedules", json=BODY, headers=as_mine)
        assert (r.status_code, r.json()["message"]) == (
            404,
            f"Item with id '{other['id']}' does not exist.",
        )
        r = await client.get(f"/agents/{other['id']}/schedules", headers=as_mine)
        assert r.status_code == 404
        r = await client.get(f"/agents/{mine['id']}/schedules")
        assert r.status_code == 401
        r = await client.get(f"/agents/{other['id']}/schedules", headers={"x-api-key": OPS})
        assert (r.status_code, r.json()["total"]) == (200, 0)


async def test_fire_skips_when_the_creators_key_is_gone(db_url: str, store: SqlStore) -> None:
    both = Settings(database_url=db_url, api_keys=f"ops:{OPS},admin:{ADMIN}")
    async with running_app(create_app(both, store=store)) as client:
        agent = await register(client, "nightly-agent")
        r = await client.post(
            f"/agents/{agent['id']}/schedules", json=BODY, headers={"x-api-key": OPS}
        )
        created = r.json()
        assert created["creator_principal"]["principal_type"] == "api_key"
        assert created["creator_principal"]["service_account_id"] == "ops"
    admin_only = Settings(database_url=db_url, api_keys=f"admin:{ADMIN}")
    app = create_app(admin_only, store=store)
    async with running_app(app) as client:
        path = f"/agents/{agent['id']}/schedules/{created['id']}"
        headers = {"x-api-key": ADMIN}
        assert (await client.post(f"{path}/trigger", headers=headers)).status_code == 200
        # Run a pass now rather than waiting for the loop's (either way, one run).
        await app.state.scheduler.tick()
        await app.state.scheduler.wait_idle()
        fires = (await client.get(f"{path}/fires", headers=headers)).json()
        (fire,) = fires
        assert (fire["status"], fire["reason"], fire["task_id"]) == (
            "skipped",
            "permission_denied",
            None,
        )
        metrics = (await client.get("/metrics")).text
    assert 'agentkeep_schedule_fires_total{status="skipped",trigger_type="manual"} 1.0' in metrics
    assert 'agentkeep_schedules{state="ACTIVE"} 1.0' in metrics
    assert "agentkeep_schedule_fire_lag_seconds_bucket" in metrics
