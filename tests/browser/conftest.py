"""Browser fixtures: a real ``agentkeep serve`` with the bundled example agents, and Chromium.

One server per backend (SQLite with the in-process bus, PostgreSQL with Redis) for the
whole session: each test makes its own tasks, so sharing the server couples nothing. Every
page records uncaught errors, console errors and failed requests; tests assert that list
is exactly what they expect (usually nothing).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright
from sqlalchemy.engine import make_url

from tests.acp_kit import AgentProcess, spawn_agent, wait_registered
from tests.conftest import IN_CI, _pg_admin_dsn, service_url, start_server, stop_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
#: Every wait on the page. Generous: the machine running CI may be busy.
WAIT_MS = 20_000


def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} not installed")
    return CHROMIUM


@dataclass
class UiServer:
    """The server, its example agents (``echo`` sync, ``greeter`` async) and a REST client."""

    url: str
    echo: str
    greeter: str
    http: httpx.Client
    log: Path

    def rpc(self, agent: str, method: str, **params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        r = self.http.post(f"/agents/name/{agent}/rpc", json=body)
        assert r.status_code == 200 and r.json()["error"] is None, r.text
        return r.json()["result"]

    def new_task(self, agent: str, display_name: str) -> dict[str, Any]:
        task: dict[str, Any] = self.rpc(
            agent, "task/create", task_metadata={"display_name": display_name}
        )
        return task

    def post(self, path: str, **kw: Any) -> Any:
        r = self.http.post(path, **kw)
        assert r.status_code == 200, r.text
        return r.json()


def _off_loop(fn: Any) -> Any:
    """Run ``fn`` in a worker thread: it calls asyncio.run, which this thread refuses
    while sync Playwright holds its event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def _fresh_postgres(base: str, template: str) -> str:
    name = f"agentkeep_ui_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await asyncpg.connect(_pg_admin_dsn(base), timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await conn.close()

    _off_loop(lambda: asyncio.run(create()))
    return str(make_url(base).set(database=name).render_as_string(False))


def _drop_postgres(base: str, url: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(_pg_admin_dsn(base), timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
        finally:
            await conn.close()

    _off_loop(lambda: asyncio.run(drop()))


def backend_env(request: pytest.FixtureRequest, tmp: Path) -> tuple[dict[str, str], Any]:
    """Environment for a server on a fresh database of the requested kind, and its cleanup."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        db = tmp / "agentkeep.db"
        db.write_bytes(template.read_bytes())
        return {"AGENTKEEP_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}, lambda: None
    base = service_url("TEST_POSTGRES_URL")
    url = _fresh_postgres(base, request.getfixturevalue("pg_template"))
    env = {"AGENTKEEP_DATABASE_URL": url, "AGENTKEEP_REDIS_URL": service_url("TEST_REDIS_URL")}
    return env, lambda: _drop_postgres(base, url)


BACKENDS = ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])]


def run_stack(
    request: pytest.FixtureRequest, tmp: Path, extra_env: dict[str, str] | None = None
) -> Iterator[UiServer]:
    """Server plus example agents; the agents register with ``AGENT_API_KEY`` if given."""
    env, cleanup = backend_env(request, tmp)
    env = {**env, "AGENTKEEP_SSE_PING_SECONDS": "1", **(extra_env or {})}
    # Generous: several processes start at once on a possibly busy CI machine.
    server = start_server(env, tmp / "server.log", timeout=120)
    agents: list[AgentProcess] = []
    headers = {"x-api-key": env["AGENT_API_KEY"]} if "AGENT_API_KEY" in env else {}
    try:
        suffix = uuid.uuid4().hex[:6]
        for kind, name in (("sync", f"echo-{suffix}"), ("async", f"greeter-{suffix}")):
            agent = spawn_agent(server.url, name, kind, tmp / f"{name}.log", env)
            agents.append(agent)
            wait_registered(agent, timeout=90)  # a busy CI machine starts processes slowly
        with httpx.Client(base_url=server.url, timeout=30, headers=headers) as http:
            yield UiServer(server.url, agents[0].name, agents[1].name, http, server.log)
    finally:
        for agent in agents:
            agent.stop()
        stop_server(server)
        cleanup()


@pytest.fixture(scope="session", params=BACKENDS)
def ui_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiServer]:
    # Shared by test_ui and test_ui_views: every test makes its own tasks.
    chromium_path()
    yield from run_stack(request, tmp_path_factory.mktemp("ui"))


@pytest.fixture(scope="module")
def browser(ui_server: UiServer) -> Iterator[Browser]:
    # Depends on the server so that the server (whose setup runs asyncio.run) is built
    # first: while sync Playwright runs, this thread has a running event loop.
    executable = chromium_path()
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watch:
    """What went wrong on a page: uncaught errors, console errors, failed requests."""

    problems: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx/5xx response as a console error too; those are counted
        # once, as responses, below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def page_error(self, error: Exception) -> None:
        self.problems.append(f"uncaught: {error}")

    def failed(self, request: Request) -> None:
        # ERR_ABORTED is the page's own cancel, never the server's failure: the page closes
        # a finished task's stream, and a reload or a new page cancels the reads still in
        # flight (a test that reloads right after a change catches one now and then). A
        # server that fails shows up as another net error or as an HTTP status below.
        if request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"failed: {request.method} {request.url} {request.failure}")

    def response(self, response: Response) -> None:
        if response.status >= 400:
            path = response.url.split("://", 1)[1].split("/", 1)[1]
            self.problems.append(f"http {response.status}: {response.request.method} /{path}")


@dataclass
class UiPage:
    page: Page
    watch: Watch
    base: str

    def goto(self, path: str) -> None:
        self.page.goto(f"{self.base}{path}")


def open_page(browser: Browser, base: str, **context: Any) -> Iterator[UiPage]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, **context)
    ctx.set_default_timeout(WAIT_MS)
    page = ctx.new_page()
    watch = Watch()
    page.on("console", watch.console)
    page.on("pageerror", watch.page_error)
    page.on("requestfailed", watch.failed)
    page.on("response", watch.response)
    try:
        yield UiPage(page, watch, base)
    finally:
        ctx.close()


@pytest.fixture
def ui(browser: Browser, ui_server: UiServer) -> Iterator[UiPage]:
    yield from open_page(browser, ui_server.url)
