"""``TurnRecorder``: a sync agent's streamed reply, persisted and re-announced per ``index``.

``start`` creates a message (IN_PROGRESS), ``delta``s accumulate in memory, ``full``
replaces, ``done`` writes the folded content with ``streaming_status: DONE``. A delta that
comes before any ``start`` gets a synthesised one. Deltas are not written one by one: a
store write per token would make the database the bottleneck of every stream; the message
is written at ``start`` and when it is finished (``finish`` also covers a broken stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agentkeep import errors
from agentkeep.acp import fold
from agentkeep.bus import announce
from agentkeep.bus.base import EventBus
from agentkeep.domain import content as message_content
from agentkeep.domain import models
from agentkeep.store import SqlStore
from agentkeep.store.rows import MessageRow

UPDATE_TYPES = frozenset({"start", "delta", "full", "done"})
DONE = message_content.DONE
IN_PROGRESS = message_content.IN_PROGRESS


@dataclass
class _Slot:
    message: MessageRow
    acc: fold.Accumulator
    done: bool = False


class TurnRecorder:
    def __init__(self, store: SqlStore, bus: EventBus, task_id: str) -> None:
        self.store = store
        self.bus = bus
        self.task_id = task_id
        self._slots: dict[Any, _Slot] = {}
        #: Every message this turn produced, in creation order (the non-streaming result).
        self.messages: list[_Slot] = []

    async def apply(self, update: Any) -> list[dict[str, Any]]:
        """Fold one agent update; return the updates to relay, each with its parent."""
        if not isinstance(update, dict) or update.get("type") not in UPDATE_TYPES:
            raise errors.AgentProtocolError("Agent sent a stream line that is not an update.")
        index = update.get("index")
        if update["type"] == "start":
            return [await self._start(index, _content(update))]
        if update["type"] == "full":
            return [await self._full(index, _content(update))]
        if update["type"] == "delta":
            return await self._delta(index, update.get("delta"))
        slot = self._slots.get(index)
        return [await self._done(index, slot)] if slot and not slot.done else []

    async def finish(self) -> list[dict[str, Any]]:
        """Finish every open message (the agent forgot ``done``, or the stream broke)."""
        return [await self._done(i, s) for i, s in list(self._slots.items()) if not s.done]

    def result(self) -> list[dict[str, Any]]:
        return [models.message_wire(slot.message) for slot in self.messages]

    async def _start(self, index: Any, content: dict[str, Any]) -> dict[str, Any]:
        row = await self.store.create_message(self.task_id, content, IN_PROGRESS)
        slot = _Slot(row, fold.Accumulator(content))
        self._slots[index] = slot
        self.messages.append(slot)
        return await self._emit({"type": "start", "index": index, "content": content}, slot)

    async def _delta(self, index: Any, delta: Any) -> list[dict[str, Any]]:
        if not isinstance(delta, dict):
            raise errors.AgentProtocolError("Agent sent a delta without a delta object.")
        out: list[dict[str, Any]] = []
        slot = self._slots.get(index)
        if slot is None or slot.done:
            synthesised = message_content.validate(fold.content_for_delta(delta))
            out.append(await self._start(index, synthesised))
            slot = self._slots[index]
        slot.acc.apply(delta)
        out.append(await self._emit({"type": "delta", "index": index, "delta": delta}, slot))
        return out

    async def _full(self, index: Any, content: dict[str, Any]) -> dict[str, Any]:
        slot = self._slots.get(index)
        if slot is None or slot.done:
            row = await self.store.create_message(self.task_id, content, DONE)
            slot = _Slot(row, fold.Accumulator(content), done=True)
            self._slots[index] = slot
            self.messages.append(slot)
        else:
            slot.acc = fold.Accumulator(content)
            await self._write_done(slot)
        return await self._emit({"type": "full", "index": index, "content": content}, slot)

    async def _done(self, index: Any, slot: _Slot) -> dict[str, Any]:
        await self._write_done(slot)
        return await self._emit({"type": "done", "index": index}, slot)

    async def _write_done(self, slot: _Slot) -> None:
        slot.done = True
        row = await self.store.update_message(
            slot.message["id"], self.task_id, slot.acc.content, DONE
        )
        # None only if the message vanished under us; keep what we know rather than fail.
        fallback: MessageRow = {
            **slot.message,
            "content": slot.acc.content,
            "streaming_status": DONE,
        }
        slot.message = row or fallback

    async def _emit(self, update: dict[str, Any], slot: _Slot) -> dict[str, Any]:
        update["parent_task_message"] = models.message_wire(slot.message)
        await announce.publish_quietly(self.bus, self.task_id, update)
        return update


def _content(update: dict[str, Any]) -> dict[str, Any]:
    content = update.get("content")
    if not isinstance(content, dict) or "type" not in content:
        raise errors.AgentProtocolError(
            f"Agent sent a {update['type']} update without message content."
        )
    try:
        # The same validation as REST messages: defaults filled in (``style``), and
        # content no client could render is refused instead of stored.
        return message_content.validate(content)
    except ValidationError:
        raise errors.AgentProtocolError(
            f"Agent sent a {update['type']} update whose content is not a valid message."
        ) from None
