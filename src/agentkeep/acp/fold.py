"""Folding streamed deltas into message content, per delta type.

Text-like deltas concatenate. ``data`` and tool ``arguments`` arrive as fragments of one
JSON document: they concatenate in a buffer that is parsed whenever it is complete, so the
stored content is always valid (the last complete value) even if the stream breaks.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

#: A bound on list indexes an agent may name (a huge index must not allocate a huge list).
MAX_PARTS = 1000

#: What a message looks like before its first delta, when an agent skips ``start``.
_EMPTY: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "author": "agent", "content": "", "format": "plain"},
    "data": {"type": "data", "author": "agent", "data": {}},
    "tool_request": {"type": "tool_request", "author": "agent", "arguments": {}},
    "tool_response": {"type": "tool_response", "author": "agent", "content": ""},
    "reasoning_summary": {"type": "reasoning", "author": "agent", "summary": [], "content": []},
    "reasoning_content": {"type": "reasoning", "author": "agent", "summary": [], "content": []},
}


def content_for_delta(delta: dict[str, Any]) -> dict[str, Any]:
    """The empty content a synthesised ``start`` carries for this delta."""
    content = copy.deepcopy(_EMPTY.get(str(delta.get("type")), _EMPTY["text"]))
    for key in ("tool_call_id", "name"):
        if key in delta and content["type"].startswith("tool"):
            content[key] = delta[key]
    return content


class Accumulator:
    """One message's content as its deltas arrive."""

    def __init__(self, content: dict[str, Any]) -> None:
        self.content = copy.deepcopy(content)
        self._json_buffer = ""

    def apply(self, delta: dict[str, Any]) -> None:
        kind = delta.get("type")
        if kind == "text":
            self._concat("content", delta.get("text_delta"))
        elif kind == "data":
            self._json_fragment("data", delta.get("data_delta"))
        elif kind == "tool_request":
            self._json_fragment("arguments", delta.get("arguments_delta"))
        elif kind == "tool_response":
            self._concat("content", delta.get("content_delta"))
        elif kind == "reasoning_summary":
            self._list_item("summary", delta.get("summary_index"), delta.get("summary_delta"))
        elif kind == "reasoning_content":
            self._list_item("content", delta.get("content_index"), delta.get("content_delta"))
        # Unknown delta types are relayed to viewers but change nothing stored.

    def _concat(self, key: str, piece: Any) -> None:
        if piece:
            current = self.content.get(key)
            self.content[key] = (current if isinstance(current, str) else "") + str(piece)

    def _json_fragment(self, key: str, piece: Any) -> None:
        if not piece:
            return
        self._json_buffer += str(piece)
        try:
            self.content[key] = orjson.loads(self._json_buffer)
        except orjson.JSONDecodeError:
            pass  # not complete yet: keep the last complete value

    def _list_item(self, key: str, index: Any, piece: Any) -> None:
        if not isinstance(index, int) or not 0 <= index < MAX_PARTS or not piece:
            return
        items = self.content.get(key)
        if not isinstance(items, list):
            items = self.content[key] = []
        while len(items) <= index:
            items.append("")
        items[index] = str(items[index]) + str(piece)
