"""Wiring for the app's lifespan: the agent client and the cancel notifier."""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
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
            http = httpx.AsyncClient(verify=_verification())
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


def _verification() -> ssl.SSLContext:
    """httpx's default TLS verification (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``),
    built once per process and per CA setting: loading the CA bundle costs ~40 ms of CPU,
    which every app would pay again (a test suite builds hundreds)."""
    return _context_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _context_for(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    # The arguments are the cache key; httpx reads the same variables itself.
    return httpx.create_ssl_context()
