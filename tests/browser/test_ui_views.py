"""The web UI's views in a real browser: rendering of every content type, paging, the
sidebar, agents, keyboard, themes and narrow screens (same server as ``test_ui``)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UiPage, UiServer
from tests.browser.ui_kit import choose_agent, prompt, row

# Real processes (server, agents, Chromium) on a possibly busy machine: the first test of a
# backend also waits for the server and agents to start.
pytestmark = pytest.mark.timeout(300)


def test_keyboard_theme_and_a_narrow_screen(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    task = ui_server.new_task(ui_server.echo, "keyboard and small screens")
    ui.goto(f"/ui/tasks/{task['id']}")
    expect(prompt(page)).to_be_focused()
    # Shift+Enter is a newline; Ctrl+K starts a new task with the prompt focused.
    prompt(page).press("x")
    prompt(page).press("Shift+Enter")
    prompt(page).press("y")
    expect(prompt(page)).to_have_value("x\ny")
    page.keyboard.press("Control+k")
    expect(page).to_have_url(re.compile(r"/ui$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New task")
    expect(prompt(page)).to_be_focused()
    # Focus is visible on keyboard navigation.
    page.keyboard.press("Shift+Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"

    # The theme follows the system until the toggle picks one.
    background = "getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(background) == "rgb(13, 17, 23)"
    toggle = page.get_by_role("button", name=re.compile("^Theme"))
    toggle.click()  # system -> light
    assert page.evaluate(background) == "rgb(255, 255, 255)"
    page.reload()
    assert page.evaluate(background) == "rgb(255, 255, 255)"  # remembered
    page.get_by_role("button", name=re.compile("^Theme")).click()  # light -> dark
    page.get_by_role("button", name=re.compile("^Theme")).click()  # dark -> system
    page.emulate_media(color_scheme="light")
    assert page.evaluate(background) == "rgb(255, 255, 255)"

    # 360 px: nothing scrolls sideways; the task list is a drawer behind a button.
    page.set_viewport_size({"width": 360, "height": 740})
    ui.goto(f"/ui/tasks/{task['id']}")
    expect(page.locator("#task-status")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    expect(row(page, task["id"])).not_to_be_visible()
    page.get_by_role("button", name="Show tasks").click()
    expect(row(page, task["id"])).to_be_visible()
    assert ui.watch.problems == []


def test_older_messages_load_on_scroll_up_without_a_jump(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    task = ui_server.new_task(ui_server.greeter, "a long conversation")
    contents = [
        {"type": "text", "author": "agent" if n % 2 else "user", "content": f"line {n:03d}"}
        for n in range(80)
    ]
    ui_server.post("/messages/batch", json={"task_id": task["id"], "contents": contents})
    ui.goto(f"/ui/tasks/{task['id']}")
    messages = page.locator(".conversation .msg")
    expect(messages.last).to_have_text("line 079")
    expect(messages).to_have_count(30)  # the newest page
    expect(page.get_by_role("button", name="↓ Latest")).to_have_count(0)

    expect(messages.first).to_have_text("line 050")
    line_50 = page.get_by_text("line 050", exact=True)
    conversation = page.locator(".conversation")
    conversation.evaluate("(el) => { el.scrollTop = 0; }")
    before = line_50.evaluate("(el) => el.getBoundingClientRect().top")
    expect(messages).to_have_count(60)
    # The message that was on top stays where the reader saw it: the page does not jump.
    after = line_50.evaluate("(el) => el.getBoundingClientRect().top")
    assert abs(after - before) <= 1, (before, after)
    assert conversation.evaluate("(el) => el.scrollTop") > 0
    expect(page.get_by_role("button", name="↓ Latest")).to_be_visible()
    conversation.evaluate("(el) => { el.scrollTop = 0; }")
    expect(messages).to_have_count(81)  # all, and the greeting
    page.get_by_role("button", name="↓ Latest").click()
    expect(page.get_by_role("button", name="↓ Latest")).to_have_count(0)
    assert ui.watch.problems == []


def test_data_tools_and_reasoning_render(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    task = ui_server.new_task(ui_server.greeter, "tools and thoughts")
    agent = {"author": "agent"}
    contents = [
        {**agent, "type": "reasoning", "summary": ["Look the city up first."], "content": []},
        {**agent, "type": "tool_request", "tool_call_id": "c1", "name": "weather",
         "arguments": {"city": "Oslo"}},
        {**agent, "type": "tool_request", "tool_call_id": "c2", "name": "clock", "arguments": {}},
        {**agent, "type": "tool_request", "tool_call_id": "c3", "name": "maps", "arguments": {}},
        {**agent, "type": "tool_response", "tool_call_id": "c1", "name": "weather",
         "content": "4°C, light snow"},
        {**agent, "type": "tool_response", "tool_call_id": "c3", "name": "maps",
         "content": "quota exceeded", "is_error": True},
        {**agent, "type": "data", "data": {"forecast": [4, 2, -1]}},
    ]  # fmt: skip
    ui_server.post("/messages/batch", json={"task_id": task["id"], "contents": contents})
    ui.goto(f"/ui/tasks/{task['id']}")

    tools = page.locator(".msg.tool")
    expect(tools).to_have_count(3)  # each response is shown with its request
    expect(page.locator('[data-tool-call-id="c1"] .tool-state')).to_have_text("done")
    expect(page.locator('[data-tool-call-id="c2"] .tool-state')).to_have_text("running…")
    expect(page.locator('[data-tool-call-id="c3"] .tool-state')).to_have_text("failed")
    weather = page.locator('[data-tool-call-id="c1"]')
    expect(weather.get_by_text("4°C, light snow")).not_to_be_visible()  # collapsed
    weather.locator("summary").first.click()
    expect(weather.get_by_text("4°C, light snow")).to_be_visible()

    reasoning = page.locator(".msg.reasoning")
    expect(reasoning.get_by_text("Look the city up first.")).not_to_be_visible()
    reasoning.locator("summary").click()
    expect(reasoning.get_by_text("Look the city up first.")).to_be_visible()

    data = page.locator(".msg.data")
    data.locator("summary").click()
    expect(data.locator("pre")).to_contain_text('"forecast": [')

    span = {"trace_id": task["id"], "task_id": task["id"], "name": "call weather",
            "start_time": "2026-01-01T00:00:00+00:00", "end_time": "2026-01-01T00:00:01.5+00:00",
            "input": {"city": "Oslo"}}  # fmt: skip
    ui_server.post("/spans", json=span)
    page.get_by_role("button", name="Spans").click()
    spans = page.get_by_role("complementary", name="Spans")
    expect(spans.locator(".span-name")).to_have_text(["call weather"])
    expect(spans.get_by_text("1.50 s")).to_be_visible()
    assert ui.watch.problems == []


def test_sidebar_loads_more_on_scroll(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    made = [ui_server.new_task(ui_server.greeter, f"bulk {n}")["id"] for n in range(35)]
    ui.goto("/ui")
    rows = page.locator(".task-row")
    expect(rows).to_have_count(30)  # one page, newest first
    expect(rows.first).to_have_attribute("data-task-id", made[-1])
    page.locator(".task-list").evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
    expect(row(page, made[0])).to_be_visible()
    ids = rows.evaluate_all("(els) => els.map((e) => e.dataset.taskId)")
    assert len(ids) == len(set(ids)) > 35 - 1
    assert ui.watch.problems == []


def test_build_only_agents_are_hidden_and_the_choice_is_remembered(
    ui: UiPage, ui_server: UiServer
) -> None:
    page = ui.page
    built = f"built-{uuid.uuid4().hex[:6]}"
    ui_server.post("/agents/register-build", json={"name": built, "description": "not deployed"})
    ui.goto("/ui")
    agents = page.get_by_role("group", name="Agent")
    expect(agents.get_by_role("radio", name=re.compile(f"^{ui_server.greeter}"))).to_be_visible()
    expect(agents.get_by_role("radio", name=re.compile(f"^{built}"))).to_have_count(0)
    choose_agent(page, ui_server.greeter)
    page.reload()
    chosen = page.get_by_role("radio", name=re.compile(f"^{ui_server.greeter}"))
    expect(chosen).to_be_checked()
    expect(prompt(page)).to_have_attribute(
        "placeholder", f"Message {ui_server.greeter} to start a task"
    )
    assert ui.watch.problems == []
