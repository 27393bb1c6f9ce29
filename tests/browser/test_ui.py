"""The web UI in a real browser, against a real server and the bundled example agents.

Each test names the behaviour from issue 9 it proves. Pages are driven the way a person
would: the textbox named "Prompt", the "Send" button, the "End task" panel.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import UiPage, UiServer

#: Records every text an agent message shows, in order, from the page's own DOM updates.
RECORD_AGENT_TEXT = """() => {
  window.agentTexts = [];
  new MutationObserver(() => {
    const last = [...document.querySelectorAll('.msg[data-author="agent"]')].pop();
    const text = last ? last.innerText.trim() : null;
    const seen = window.agentTexts;
    if (text && seen[seen.length - 1] !== text) seen.push(text);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def prompt(page: Page) -> object:
    return page.get_by_role("textbox", name="Prompt")


def choose_agent(page: Page, name: str) -> None:
    page.locator("label", has_text=re.compile(f"^{name}")).click()


def header_badge(page: Page) -> object:
    return page.locator("#task-status")


def row(page: Page, task_id: str) -> object:
    return page.locator(f'.task-row[data-task-id="{task_id}"]')


def test_sync_reply_streams_token_by_token_then_shows_once(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    words = [f"word{n}" for n in range(12)]
    text = " ".join(words)
    ui.goto("/ui")
    choose_agent(page, ui_server.echo)
    page.evaluate(RECORD_AGENT_TEXT)
    prompt(page).fill(text)
    page.get_by_role("button", name="Send").click()

    expect(page).to_have_url(re.compile(r"/ui/tasks/[0-9a-f-]{36}$"))
    agent_messages = page.locator('.msg[data-author="agent"]')
    expect(agent_messages).to_have_text([text])
    expect(page.locator('.msg[data-author="user"]')).to_have_text([text])
    expect(page.locator(".msg.streaming")).to_have_count(0)
    seen = page.evaluate("window.agentTexts")
    partial = [t for t in seen if t != text]
    assert len(partial) >= 2, seen
    assert all(text.startswith(t) for t in partial), seen
    assert seen[-1] == text
    # The task is labelled by its prompt, in the header and in the sidebar.
    task_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(text)
    expect(row(page, task_id).locator(".task-label")).to_have_text(text)
    assert ui.watch.problems == []


def test_completing_from_outside_locks_the_prompt_live_and_after_reload(
    ui: UiPage, ui_server: UiServer
) -> None:
    page = ui.page
    task = ui_server.new_task(ui_server.echo, "complete me from outside")
    ui.goto(f"/ui/tasks/{task['id']}")
    expect(prompt(page)).to_be_enabled()
    expect(page.locator(".live")).to_have_text("live")
    page.evaluate("window.sameDocument = true")

    ui_server.post(f"/tasks/{task['id']}/complete", json={"reason": "done elsewhere"})

    for _ in range(2):  # live, then after a reload
        expect(header_badge(page)).to_have_text("completed")
        expect(row(page, task["id"]).locator(".badge")).to_have_text("completed")
        expect(prompt(page)).to_be_disabled()
        expect(prompt(page)).to_have_attribute("placeholder", "Task completed")
        expect(page.get_by_text("done elsewhere")).to_be_visible()
        if page.evaluate("window.sameDocument === true"):
            page.reload()
    assert page.evaluate("window.sameDocument === undefined")  # the second pass was reloaded
    assert ui.watch.problems == []


def test_interrupted_task_stays_writable_and_a_turn_resumes_it(
    ui: UiPage, ui_server: UiServer
) -> None:
    page = ui.page
    task = ui_server.new_task(ui_server.echo, "interrupt me")
    ui.goto(f"/ui/tasks/{task['id']}")
    expect(page.locator(".live")).to_have_text("live")
    ui_server.post(f"/tasks/{task['id']}/interrupt")
    expect(header_badge(page)).to_have_text("interrupted")
    expect(prompt(page)).to_be_enabled()
    expect(prompt(page)).to_have_attribute("placeholder", re.compile("^Task interrupted"))

    prompt(page).fill("carry on")
    prompt(page).press("Enter")
    expect(page.locator('.msg[data-author="agent"]')).to_have_text(["carry on"])
    expect(header_badge(page)).to_have_text("running")
    history = ui_server.http.get(f"/tasks/{task['id']}/history").json()
    assert [(h["from_status"], h["to_status"]) for h in history][-1] == ("INTERRUPTED", "RUNNING")
    assert ui.watch.problems == []


def test_an_agent_only_first_turn_renders_as_its_own_turn(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    ui.goto("/ui")
    choose_agent(page, ui_server.greeter)
    prompt(page).fill("hello greeter")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("You said: hello greeter")).to_be_visible()
    turns = page.locator("section.turn")
    expect(turns).to_have_count(1)
    expect(turns.first).to_have_class(re.compile(r"\bagent-only\b"))
    expect(turns.first.locator(".msg")).to_have_text(
        [f"Hello! I am {ui_server.greeter}. Send me an event.", "You said: hello greeter"]
    )
    expect(page.locator('.msg[data-author="user"]')).to_have_count(0)
    assert ui.watch.problems == []


def test_message_content_runs_no_script(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    task = ui_server.new_task(ui_server.greeter, "hostile content")
    img = '<img src=x onerror="window.pwned = 1; alert(1)">'
    hostile = [
        img,
        "[click me](javascript:window.pwned=2;alert(2))",
        "![picture](javascript:alert(3)) <script>window.pwned = 4</script>",
        '<svg><a><animate attributeName="href" values="javascript:alert(5)"/>svg</a></svg>',
    ]
    for text in hostile:
        content = {"type": "text", "author": "agent", "format": "markdown", "content": text}
        ui_server.post("/messages", json={"task_id": task["id"], "content": content})
    ui.goto(f"/ui/tasks/{task['id']}")
    expect(page.locator('.msg[data-author="agent"]')).to_have_count(1 + len(hostile))  # greeting
    # Raw HTML shows as the text it is; markdown links and images lose unsafe URLs.
    expect(page.get_by_text(img)).to_be_visible()
    page.get_by_text("click me").click()
    assert page.evaluate("window.pwned") is None
    assert dialogs == []
    conversation = page.locator(".conversation")
    assert conversation.locator("[onerror], script, svg, animate").count() == 0
    assert conversation.locator('[href^="javascript"], [src^="javascript"]').count() == 0
    expect(conversation.locator("img")).to_have_count(1)
    expect(conversation.locator("img")).not_to_have_attribute("src", re.compile("."))
    assert ui.watch.problems == []


def test_full_update_twice_shows_the_message_once(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    task = ui_server.new_task(ui_server.greeter, "replaced in place")
    ui.goto(f"/ui/tasks/{task['id']}")
    expect(page.locator(".live")).to_have_text("live")
    content = {"type": "text", "author": "agent", "content": "first draft"}
    made = ui_server.post("/messages", json={"task_id": task["id"], "content": content})
    expect(page.get_by_text("first draft")).to_be_visible()
    # Each PUT publishes a ``full`` for the same message id: it replaces, never appends.
    for text in ("second draft", "final text"):
        body = {"task_id": task["id"], "content": {**content, "content": text}}
        r = ui_server.http.put(f"/messages/{made['id']}", json=body)
        assert r.status_code == 200, r.text
    agent = page.locator('.msg[data-author="agent"]')
    expect(agent.filter(has_text="final text")).to_have_count(1)
    expect(agent).to_have_count(2)  # the greeting and this one
    assert ui.watch.problems == []


def test_end_a_task_with_a_reason_then_see_the_refusal(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    task = ui_server.new_task(ui_server.echo, "end me from the ui")
    ui.goto(f"/ui/tasks/{task['id']}")
    page.get_by_role("button", name="End task").click()
    page.get_by_label("Reason (optional)").fill("shipped it")
    page.get_by_role("button", name="Complete").click()
    expect(page.locator(".outcome")).to_have_text("Task completed: shipped it")
    expect(header_badge(page)).to_have_text("completed")

    page.get_by_role("button", name="History").click()
    latest = page.locator(".history-row").first
    expect(latest.locator(".history-why")).to_have_text("shipped it")
    expect(latest.locator(".history-who")).to_have_text("anonymous")
    stored = ui_server.http.get(f"/tasks/{task['id']}/history").json()[-1]
    expect(latest.locator("time")).to_have_attribute("datetime", stored["created_at"])
    expect(latest.locator(".history-change")).to_have_text("RUNNING → COMPLETED")

    page.get_by_role("button", name="End task").click()
    page.get_by_role("button", name="Cancel").click()
    refusal = page.locator(".outcome.refused")
    expect(refusal).to_contain_text(f"Task {task['id']} cannot be transitioned")
    expect(refusal).to_contain_text("Current status: COMPLETED.")
    assert ui.watch.problems == [f"http 400: POST /tasks/{task['id']}/cancel"]


def test_sidebar_filters_by_status(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    tag = uuid.uuid4().hex[:6]
    running = ui_server.new_task(ui_server.echo, f"still going {tag}")
    done = ui_server.new_task(ui_server.echo, f"all done {tag}")
    ui_server.post(f"/tasks/{done['id']}/complete")
    ui.goto("/ui")
    expect(row(page, running["id"])).to_be_visible()
    expect(row(page, done["id"])).to_be_visible()

    page.get_by_label("Status filter").select_option("COMPLETED")
    expect(row(page, done["id"])).to_be_visible()
    expect(row(page, running["id"])).to_have_count(0)
    badges = page.locator(".task-row .badge")
    assert set(badges.all_inner_texts()) == {"completed"}

    page.get_by_label("Status filter").select_option("RUNNING")
    expect(row(page, running["id"])).to_be_visible()
    expect(row(page, done["id"])).to_have_count(0)
    assert set(badges.all_inner_texts()) == {"running"}

    page.get_by_label("Status filter").select_option("")
    page.get_by_label("Search tasks").fill(f"done {tag}")
    expect(page.locator(".task-row")).to_have_count(1)
    expect(row(page, done["id"])).to_be_visible()
    assert ui.watch.problems == []


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
