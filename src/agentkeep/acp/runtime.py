"""Wiring for the app's lifespan: the agent client and the cancel notifier."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from agentkeep.acp.client import AgentClient
from agentkeep.acp.notify import CancelNotifier
from agentkeep.lifecycle import Lifecycle
from agentkeep.settings import Settings
from agentkeep.store import SqlStore


async def start(
    stack: contextlib.AsyncExitStack,
    app_state: Any,
    settings: Settings,
    store: SqlStore,
    lifecycle: Lifecycle,
    *,
    agent_client: AgentClient | None = None,
    http: httpx.AsyncClient | None = None,
) -> None:
    """Put ``agent_client`` and ``cancel_notifier`` on ``app_state``; close what we built."""
    if agent_client is None:
        if http is None:
            # Proxies from the environment stay honoured (trust_env): operators may need
            # them; NO_PROXY covers agents on the same host.
            http = httpx.AsyncClient()
            stack.push_async_callback(http.aclose)
        metrics = getattr(app_state, "metrics", None)
        agent_client = AgentClient.from_settings(
            http, settings, observer=metrics.agent_call if metrics else None
        )
    notifier = CancelNotifier(store, agent_client)
    lifecycle.on_commit(notifier.on_commit)
    stack.push_async_callback(notifier.close)
    app_state.agent_client = agent_client
    app_state.cancel_notifier = notifier
