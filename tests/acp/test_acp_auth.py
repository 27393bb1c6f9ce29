"""With API keys configured: example agents register with an API key (``AGENT_API_KEY``,
all agentex-sdk can send) and call back with their own agent key."""

from __future__ import annotations

from typing import Any

import pytest

from agentkeep.settings import Settings
from tests.acp_kit import Live

API_KEY = "ops-key-0123456789"


@pytest.fixture
def acp_settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, api_keys=f"ops:{API_KEY}", sweep_interval_seconds=0.2)


async def test_agents_work_with_auth_on(live: Live, example_agent: Any) -> None:
    live.http.headers["x-api-key"] = API_KEY
    greeter = await example_agent("async", key=API_KEY)
    echo = await example_agent("sync", key=API_KEY)
    task = (await live.rpc(greeter.name, "task/create"))["result"]
    # The greeting was posted with the greeter's own agent key, on its own task.
    assert len(await live.messages(task["id"])) == 1
    await live.rpc(greeter.name, "event/send", task_id=task["id"], content=_text())
    assert len(await live.messages(task["id"])) == 2
    body = await live.rpc(echo.name, "message/send", content=_text())
    assert body["error"] is None and body["result"][0]["content"]["content"] == "hi"


async def test_an_agent_without_a_key_cannot_register(live: Live, example_agent: Any) -> None:
    with pytest.raises(RuntimeError, match="registration"):
        await example_agent("async")


def _text() -> dict[str, Any]:
    return {"type": "text", "author": "user", "content": "hi"}
