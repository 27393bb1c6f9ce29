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
