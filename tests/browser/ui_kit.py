"""Locators the UI tests share: the page as a person sees it."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page


def prompt(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Prompt")


def choose_agent(page: Page, name: str) -> None:
    page.locator("label", has_text=re.compile(f"^{name}")).click()


def header_badge(page: Page) -> Locator:
    return page.locator("#task-status")


def row(page: Page, task_id: str) -> Locator:
    return page.locator(f'.task-row[data-task-id="{task_id}"]')


def wait_for_listed_statuses(page: Page, status: str) -> None:
    """Wait until the sidebar has settled on ``status``: loaded, not empty, and every row's
    badge shows it. One retried condition, not several snapshots that a re-render can
    fall between."""
    page.wait_for_function(
        """(status) => {
            const list = document.querySelector(".task-list");
            const badges = [...document.querySelectorAll(".task-row .badge")];
            return list && list.getAttribute("aria-busy") === "false" && badges.length > 0
                && badges.every((b) => b.dataset.status === status);
        }""",
        arg=status,
    )
