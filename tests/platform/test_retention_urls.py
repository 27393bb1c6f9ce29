"""Retention URLs: the guard's refusals (nothing changes), and real uploads and downloads
over HTTPS to a loopback object store with ``AGENTKEEP_RETENTION_ALLOW_PRIVATE_URLS``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from agentkeep import errors
from agentkeep.app import create_app
from agentkeep.retention import urls
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from tests.conftest import running_app
from tests.platform.object_store import ObjectStore, object_store
from tests.platform.retention_kit import assert_error, export, fill, finish, task

PRIVATE = [
    "https://127.0.0.1/x",
    "https://localhost/x",
    "https://10.1.2.3/x",
    "https://192.168.0.10/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://0.0.0.0/x",
    "https://224.0.0.1/x",
]


@pytest.mark.parametrize("url", PRIVATE)
async def test_guard_refuses_private_addresses(url: str) -> None:
    with pytest.raises(errors.BadRequest, match="not a public address") as refused:
        await urls.check(url, allow_private=False)
    assert f"URL '{url}' is not allowed" in str(refused.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://8.8.8.8/x", "only https URLs are accepted"),
        ("ftp://8.8.8.8/x", "only https URLs are accepted"),
        ("https:///x", "no host name"),
        ("https://no-such-host.invalid/x", "does not resolve"),
    ],
)
async def test_guard_refuses_other_urls(url: str, reason: str) -> None:
    with pytest.raises(errors.BadRequest, match=reason):
        await urls.check(url, allow_private=True)


async def test_guard_lets_public_addresses_and_allowed_private_ones_through() -> None:
    # Checks only: nothing is sent to a public address from a test.
    public = await urls.check("https://8.8.8.8:8443/bucket/key?sig=1", allow_private=False)
    assert public.address == "8.8.8.8" and public.url.host == "8.8.8.8"
    private = await urls.check("https://127.0.0.1/x", allow_private=True)
    assert private.address == "127.0.0.1"


async def test_routes_refuse_guarded_urls_and_change_nothing(
    client: httpx.AsyncClient, agent_factory: Any, task_factory: Any
) -> None:
    agent = await agent_factory()
    made = await task_factory(agent)
    tid = made["id"]
    await fill(client, tid, agent["id"])
    await finish(client, tid)
    before, row = await export(client, tid), await task(client, tid)
    for url in ("https://127.0.0.1:1/bucket/k", "http://example.com/k"):
        r = await client.post(f"/tasks/{tid}/export", json={"upload_url": url})
        assert assert_error(r, 400)["message"].startswith(f"URL '{url}' is not allowed: ")
    assert (await client.post(f"/tasks/{tid}/clean", json={"force": True})).status_code == 200
    cleaned, empty = await task(client, tid), await export(client, tid)
    body = {"task_id": tid, "snapshot_url": "https://169.254.169.254/latest/meta-data"}
    assert_error(await client.post(f"/tasks/{tid}/rehydrate", json=body), 400)
    assert await task(client, tid) == cleaned and await export(client, tid) == empty
    assert before != empty and row["cleaned_at"] is None


@pytest.fixture
async def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ObjectStore]:
    async with object_store(tmp_path) as store:
        monkeypatch.setenv("SSL_CERT_FILE", str(store.ca_file))
        yield store


@pytest.fixture
async def onprem(settings: Settings, store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    """The app with private retention URLs allowed (an on-premises object store)."""
    allowed = settings.model_copy(update={"retention_allow_private_urls": True})
    async with running_app(create_app(allowed, store=store)) as c:
        yield c


async def test_upload_clean_and_rehydrate_from_url(
    onprem: httpx.AsyncClient, s3: ObjectStore, agent_factory: Any, task_factory: Any
) -> None:
    client = onprem
    agent = await agent_factory()
    made = await task_factory(agent)
    tid = made["id"]
    await fill(client, tid, agent["id"])
    await finish(client, tid)
    before = await export(client, tid)

    r = await client.post(f"/tasks/{tid}/export", json={"upload_url": f"{s3.url}/snap"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "task_id": tid,
        "upload_url": f"{s3.url}/snap",
        "uploaded_bytes": len(before),
        "messages_count": 3,
        "task_states_count": 1,
    }
    assert s3.objects["snap"] == before and s3.content_types["snap"] == "application/json"

    assert (await client.post(f"/tasks/{tid}/clean", json={"force": True})).status_code == 200
    cleaned, empty = await task(client, tid), await export(client, tid)
    s3.objects["garbage"] = b"not json"
    s3.objects["wrong"] = orjson.dumps({"task_id": tid, "messages": [{"id": "m"}]})
    refusals = [
        ("missing", 502, f"Failed to download snapshot from URL for task {tid}"),
        ("fail", 502, f"Failed to download snapshot from URL for task {tid}"),
        ("redirect", 502, f"Failed to download snapshot from URL for task {tid}"),
        ("garbage", 400, None),
        ("wrong", 400, None),
    ]
    for key, code, message in refusals:
        body = {"task_id": tid, "snapshot_url": f"{s3.url}/{key}"}
        r = await client.post(f"/tasks/{tid}/rehydrate", json=body)
        error = assert_error(r, code, message)
        if code == 400:
            assert error["message"].startswith(
                "Downloaded snapshot is not a valid TaskSnapshotEntity: "
            )
        assert await task(client, tid) == cleaned and await export(client, tid) == empty

    body = {"task_id": tid, "snapshot_url": f"{s3.url}/snap"}
    assert (await client.post(f"/tasks/{tid}/rehydrate", json=body)).status_code == 204
    assert await export(client, tid) == before


async def test_failed_uploads_are_502(
    onprem: httpx.AsyncClient, s3: ObjectStore, task_factory: Any
) -> None:
    made = await task_factory()
    for key in ("fail", "redirect"):
        r = await onprem.post(f"/tasks/{made['id']}/export", json={"upload_url": f"{s3.url}/{key}"})
        assert_error(r, 502, f"Failed to upload snapshot for task {made['id']}")
    assert s3.objects == {}
