"""Message updates on a task's stream: their shape, and the best-effort publish.

Best effort because the stored messages are the truth and the stream a live view of them:
a bus failure must never fail the write (status changes, which must not be lost, go
through the outbox instead).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agentkeep.bus.base import EventBus
from agentkeep.domain import models

log = logging.getLogger(__name__)


def message_update(kind: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """A ``start`` or ``full`` update carrying the whole message as its parent."""
    wired = models.message_wire(message)
    return {
        "type": kind,
        "index": None,
        "content": wired["content"],
        "parent_task_message": wired,
    }


async def publish_quietly(bus: EventBus, task_id: str, event: dict[str, Any]) -> None:
    try:
        await bus.publish(task_id, event)
    except Exception:
        log.warning("could not publish %s for task %s", event.get("type"), task_id, exc_info=True)
