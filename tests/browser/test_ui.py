"""The web UI in a real browser, against a real server and the bundled example agents.

Each test names the behaviour from issue 9 it proves. Pages are driven the way a person
would: the textbox named "Prompt", the "Send" button, the "End task" panel.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UiPage, UiServer
from tests.browser.ui_kit import choose_agent, header_badge, prompt, row, wait_for_listed_statuses

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

#: Keeps every EventSource the page opens, to check how the page leaves them.
RECORD_EVENTSOURCES = """window.streams = [];
window.EventSource = class extends window.EventSource {
  constructor(...args) { super(...args); window.streams.push(this); }
};"""

# Real processes (server, agents, Chromium) on a possibly busy machine: the first test of a
# backend also waits for the server and agents to start.
pytestmark = pytest.mark.timeout(300)


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
    page.add_init_script(RECORD_EVENTSOURCES)
    ui.goto(f"/ui/tasks/{task['id']}")
    expect(prompt(page)).to_be_enabled()
    expect(page.locator(".live")).to_have_text("live")
    page.evaluate("window.sameDocument = true")

    ui_server.post(f"/tasks/{task['id']}/complete", json={"reason": "done elsewhere"})
    expect(header_badge(page)).to_have_text("completed")
    # The page closed the stream itself on the terminal update: no reconnect loop.
    assert page.evaluate("window.streams.map((s) => s.readyState)") == [2]

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
    wait_for_listed_statuses(page, "COMPLETED")
    expect(row(page, done["id"])).to_be_visible()
    expect(row(page, running["id"])).to_have_count(0)
    badges = page.locator(".task-row .badge")
    assert set(badges.all_inner_texts()) == {"completed"}

    page.get_by_label("Status filter").select_option("RUNNING")
    wait_for_listed_statuses(page, "RUNNING")
    expect(row(page, running["id"])).to_be_visible()
    expect(row(page, done["id"])).to_have_count(0)
    assert set(badges.all_inner_texts()) == {"running"}

    page.get_by_label("Status filter").select_option("")
    page.get_by_label("Search tasks").fill(f"done {tag}")
    expect(page.locator(".task-row")).to_have_count(1)
    expect(row(page, done["id"])).to_be_visible()
    assert ui.watch.problems == []


def test_json_mode_validates_and_a_new_task_takes_params(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    ui.goto("/ui")
    choose_agent(page, ui_server.echo)
    page.get_by_text("Task params").click()
    page.get_by_label("JSON object passed as the task's params").fill('{"team": "blue"}')
    page.get_by_label("Send JSON").check()
    prompt(page).fill('{"question": oops}')
    prompt(page).press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("The message is not valid JSON")
    expect(page).to_have_url(re.compile(r"/ui$"))  # nothing was sent

    prompt(page).fill("[1, 2]")
    prompt(page).press("Enter")
    expect(page.get_by_role("alert")).to_have_text(
        'The message must be a JSON object, like {"key": "value"}.'
    )

    prompt(page).fill('{"question": 42}')
    prompt(page).press("Enter")
    expect(page).to_have_url(re.compile(r"/ui/tasks/[0-9a-f-]{36}$"))
    expect(page.locator('.msg.data[data-author="user"]')).to_have_count(1)
    # echo answers non-text content with its JSON.
    echoed = '{"author": "user", "data": {"question": 42}, "style": "static", "type": "data"}'
    expect(page.locator('.msg[data-author="agent"]')).to_have_text([echoed])
    task = ui_server.http.get(f"/tasks/{page.url.rsplit('/', 1)[1]}").json()
    assert task["params"] == {"team": "blue"}
    assert task["task_metadata"] == {"display_name": '{"question":42}'}
    assert ui.watch.problems == []


def test_an_agent_error_shows_and_leaves_the_task_writable(ui: UiPage, ui_server: UiServer) -> None:
    page = ui.page
    name = f"broken-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "acp_url": "http://127.0.0.1:9", "acp_type": "sync"}
    ui_server.post("/agents/register", json=body)  # nothing listens on port 9
    task = ui_server.new_task(name, "an agent that fails")
    ui.goto(f"/ui/tasks/{task['id']}")
    prompt(page).fill("are you there?")
    prompt(page).press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(header_badge(page)).to_have_text("failed")
    # FAILED by an agent error: the next turn resumes the task, so the prompt stays open.
    expect(prompt(page)).to_be_enabled()
    expect(prompt(page)).to_have_attribute(
        "placeholder", "Task failed (agent error): send a message to retry"
    )
    expect(prompt(page)).to_have_value("are you there?")  # kept for the retry

    # FAILED by a person: final.
    other = ui_server.new_task(ui_server.echo, "failed on purpose")
    ui_server.post(f"/tasks/{other['id']}/fail", json={"reason": "wrong input"})
    ui.goto(f"/ui/tasks/{other['id']}")
    expect(prompt(page)).to_be_disabled()
    expect(prompt(page)).to_have_attribute("placeholder", "Task failed")
    assert ui.watch.problems == []
