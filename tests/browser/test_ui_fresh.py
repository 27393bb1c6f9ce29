"""UI checks that need a server of their own: the first visit to an empty server (empty
state, accessibility, the README's screenshot) and a server with API keys configured."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.conftest import (
    BACKENDS,
    CHROMIUM_ARGS,
    UiPage,
    UiServer,
    chromium_path,
    open_page,
    run_stack,
)

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOT = Path(__file__).parents[2] / "docs" / "ui.png"
API_KEY = "ui-test-key-0123456789"

REPLY = """Here is what I can do:

- stream tokens as they arrive
- render **markdown** safely, with `code`

```python
print("hello from agentkeep")
```"""

# Real processes (server, agents, Chromium) on a possibly busy machine: the first test of a
# backend also waits for the server and agents to start.
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(params=BACKENDS)
def fresh_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UiServer]:
    chromium_path()
    yield from run_stack(request, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def keyed_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiServer]:
    # Shared by the API-key tests: each makes its own task and its own browser context.
    chromium_path()
    env = {"AGENTKEEP_API_KEYS": f"ops:{API_KEY}", "AGENT_API_KEY": API_KEY}
    yield from run_stack(request, tmp_path_factory.mktemp("keyed"), env)


@pytest.fixture
def own_browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    # Function-scoped, started after the server fixture (see conftest's ``browser``).
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html)}))"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_first_visit_empty_state_accessibility_and_screenshot(
    fresh_server: UiServer, own_browser: Browser
) -> None:
    # axe is injected as a script: this one context lets it past the page's CSP.
    pages = open_page(own_browser, fresh_server.url, bypass_csp=True)
    ui: UiPage = next(pages)
    page = ui.page
    ui.goto("/")
    expect(page).to_have_url(re.compile(r"/ui$"))
    expect(page.locator(".task-list .empty")).to_have_text(
        "No tasks yet. Start one from the prompt."
    )
    expect(page.get_by_role("textbox", name="Prompt")).to_be_enabled()  # an agent is chosen
    assert serious_violations(page) == []

    page.locator("label", has_text=re.compile(f"^{fresh_server.echo}")).click()
    prompt = page.get_by_role("textbox", name="Prompt")
    prompt.fill("Hello! What can you show me?")
    prompt.press("Enter")
    expect(page.locator('.msg[data-author="agent"]')).to_have_text(["Hello! What can you show me?"])
    prompt.fill(REPLY)
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".msg.agent pre")).to_have_count(1)
    expect(page.locator(".msg.streaming")).to_have_count(0)
    page.get_by_role("button", name="History").click()
    expect(page.locator(".history-row")).to_have_count(1)
    assert serious_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert serious_violations(page) == []
    page.emulate_media(color_scheme="light")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert ui.watch.problems == []
    pages.close()


def test_with_api_keys_pages_are_public_and_the_cookie_carries_the_key(
    keyed_server: UiServer, own_browser: Browser
) -> None:
    assert httpx.get(f"{keyed_server.url}/ui").status_code == 200
    assert httpx.get(f"{keyed_server.url}/ui/static/app.js").status_code == 200
    task = keyed_server.new_task(keyed_server.echo, "behind a key")

    # Without a key the page asks for one (every API call answers 401).
    pages = open_page(own_browser, keyed_server.url)
    ui = next(pages)
    ui.goto(f"/ui/tasks/{task['id']}")
    expect(ui.page.get_by_role("dialog", name="API key needed")).to_be_visible()
    pages.close()

    # With the HttpOnly cookie the API and the stream accept it like x-api-key.
    cookie = {
        "name": "agentkeep_api_key",
        "value": API_KEY,
        "url": keyed_server.url,
        "httpOnly": True,
        "sameSite": "Strict",
    }
    pages = open_page(own_browser, keyed_server.url)
    ui = next(pages)
    ui.page.context.add_cookies([cookie])  # type: ignore[list-item]
    ui.goto(f"/ui/tasks/{task['id']}")
    expect(ui.page.locator(".live")).to_have_text("live")
    keyed_server.post(f"/tasks/{task['id']}/complete", json={"reason": "keyed"})
    expect(ui.page.locator("#task-status")).to_have_text("completed")
    expect(ui.page.get_by_role("dialog")).to_have_count(0)
    assert ui.watch.problems == []
    pages.close()


def test_the_key_dialog_signs_in_through_auth_session(
    keyed_server: UiServer, own_browser: Browser
) -> None:
    probe = httpx.post(f"{keyed_server.url}/auth/session", json={"api_key": API_KEY})
    if probe.status_code == 404:
        pytest.skip("POST /auth/session is not on this branch yet (the security branch adds it)")
    pages = open_page(own_browser, keyed_server.url)
    ui = next(pages)
    ui.goto("/ui")
    dialog = ui.page.get_by_role("dialog", name="API key needed")
    dialog.get_by_label("API key").fill(API_KEY)
    dialog.get_by_role("button", name="Use key").click()
    expect(ui.page.get_by_role("dialog")).to_have_count(0)
    expect(ui.page.get_by_role("textbox", name="Prompt")).to_be_enabled()
    cookies = {c["name"]: c for c in ui.page.context.cookies()}
    assert cookies["agentkeep_api_key"]["httpOnly"] is True
    assert cookies["agentkeep_api_key"]["sameSite"] == "Strict"
    pages.close()
