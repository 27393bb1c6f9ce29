"""The API docs load in a real browser with nothing fetched from anywhere but the server.

Chromium opens ``/swagger`` and ``/redoc`` on a real server process;
every request the page makes is recorded, and any request to another host is aborted and
fails the test: no CDN, no web fonts, no validator badge.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Request, Route, async_playwright

from tests.browser.test_eventsource import CHROMIUM_ARGS, chromium_path
from tests.conftest import ServerProcess

#: Swagger UI and ReDoc are megabytes of JavaScript: on a busy two-core host, parsing them
#: alone has taken over 15 s. A wait, not a speed check: a page that never renders fails.
PAGE_WAIT_MS = 60_000


@pytest.mark.timeout(300)
async def test_swagger_and_redoc_load_offline(server: ServerProcess) -> None:
    executable = chromium_path()
    seen: list[str] = []
    outside: list[str] = []

    async def only_local(route: Route, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1":
            outside.append(request.url)
            await route.abort()
            return
        await route.continue_()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.set_default_timeout(PAGE_WAIT_MS)
            page.on("request", lambda r: seen.append(r.url))
            await page.route("**/*", only_local)
            await page.goto(f"{server.url}/swagger", wait_until="networkidle")
            title = page.locator(".swagger-ui .info .title")
            await title.wait_for()
            assert "agentkeep" in await title.inner_text()
            assert await page.locator(".opblock").count() > 10  # the operations rendered
            await page.goto(f"{server.url}/redoc", wait_until="networkidle")
            heading = page.locator("h1", has_text="agentkeep")
            await heading.first.wait_for()
        finally:
            await browser.close()
    assert outside == []
    assert f"{server.url}/docs-assets/swagger-ui-bundle.js" in seen
    assert f"{server.url}/docs-assets/redoc.standalone.js" in seen
    assert f"{server.url}/openapi.json" in seen
