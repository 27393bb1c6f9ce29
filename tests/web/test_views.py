"""The UI's routes, without a browser: the shell, its headers, the assets and their imports."""

from __future__ import annotations

import re

import httpx
import pytest

from agentkeep.app import create_app
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from agentkeep.web import views
from tests.conftest import running_app

IMPORT = re.compile(r"""from\s+["'](\./[^"']+)["']""")


async def test_root_redirects_to_the_ui(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert (r.status_code, r.headers["location"]) == (307, "/ui")


@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/tasks/6a1f9d7e-0000-4000-8000-000000000000"])
async def test_every_ui_path_serves_the_shell_with_a_strict_csp(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    assert '<script type="module" src="/ui/static/app.js">' in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_assets_are_served_with_their_types(client: httpx.AsyncClient) -> None:
    js = await client.get("/ui/static/app.js")
    css = await client.get("/ui/static/style.css")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "path", ["/ui/static/../views.py", "/ui/static/%2e%2e/views.py", "/ui/static/nope.js"]
)
async def test_nothing_outside_the_assets_is_served(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert r.json()["code"] == 404


def test_every_module_import_resolves_inside_the_package() -> None:
    # No CDN and no build step: each relative import of each module ships in the package.
    for module in views.STATIC.rglob("*.js"):
        for target in IMPORT.findall(module.read_text()):
            assert (module.parent / target).is_file(), f"{module.name} imports missing {target}"


async def test_with_api_keys_the_pages_and_assets_stay_public(db_url: str) -> None:
    settings = Settings(database_url=db_url, api_keys="ops:secret-key-123")
    store = SqlStore(db_url)
    try:
        async with running_app(create_app(settings, store=store)) as c:
            assert (await c.get("/ui")).status_code == 200
            assert (await c.get("/ui/static/app.js")).status_code == 200
            assert (await c.get("/agents")).status_code == 401
            c.cookies.set("agentkeep_api_key", "secret-key-123")
            assert (await c.get("/agents")).status_code == 200
    finally:
        await store.close()
