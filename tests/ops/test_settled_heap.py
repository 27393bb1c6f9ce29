"""``serve`` freezes the heap startup built, so full collections stop re-walking it."""

from __future__ import annotations

import gc

from agentkeep import serving
from agentkeep.app import create_app
from agentkeep.settings import Settings
from tests.conftest import running_app


async def test_the_heap_is_frozen_once_startup_is_done_and_the_app_still_serves(
    settings: Settings,
) -> None:
    app = serving.settle_heap_after_startup(create_app(settings))
    assert gc.get_freeze_count() == 0
    try:
        async with running_app(app) as client:
            # Startup's long-lived objects (modules, routes, the store) are what is frozen.
            assert gc.get_freeze_count() > 10_000
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/agents")).json() == []
    finally:
        gc.unfreeze()
