"""``echo``: a sync agent that streams the user's text back to them, token by token."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from agentkeep.examples.base import ExampleAgent

#: A token is a run of non-space characters with the spaces after it, so the deltas
#: concatenate back to exactly the text that was sent.
TOKEN = re.compile(r"\s*\S+\s*|\s+")
#: A pause between tokens, like a model's, so a person watching the web UI sees the reply
#: arrive token by token instead of all at once.
TOKEN_PAUSE_SECONDS = 0.03


def build(server_url: str, name: str) -> ExampleAgent:
    agent = ExampleAgent(server_url, name, "sync", "Streams your message back, token by token.")
    agent.handlers["message/send"] = _message_send
    return agent


def _text_of(content: dict[str, Any]) -> str:
    if content.get("type") == "text":
        return str(content.get("content", ""))
    return json.dumps(content, sort_keys=True)


async def _message_send(params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    return _reply(_text_of(params.get("content") or {}))


async def _reply(text: str) -> AsyncIterator[dict[str, Any]]:
    start = {"type": "text", "author": "agent", "content": "", "format": "plain"}
    yield {"type": "start", "index": 0, "content": start}
    for token in TOKEN.findall(text):
        await asyncio.sleep(TOKEN_PAUSE_SECONDS)
        yield {"type": "delta", "index": 0, "delta": {"type": "text", "text_delta": token}}
    yield {"type": "done", "index": 0}
