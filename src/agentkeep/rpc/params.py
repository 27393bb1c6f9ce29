"""Method params, and how each names a task (``reference``), for the one reach check.

Unknown fields are ignored (pydantic's default): clients and SDK agents send extras.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel, Field, model_validator

from agentkeep.domain import content as message_content


class Reference(NamedTuple):
    """The task a call names. ``creates``: a missing name is created, not refused."""

    task_id: str | None
    task_name: str | None
    creates: bool = False


class RpcParams(BaseModel):
    """Params of a method; ``reference`` names the task the call acts on, if any."""

    def reference(self) -> Reference:
        return Reference(None, None)


class TaskRef(RpcParams):
    """``task_id`` xor ``task_name``; both is invalid params (HTTP 422)."""

    task_id: str | None = None
    task_name: str | None = None

    @model_validator(mode="after")
    def _not_both(self) -> TaskRef:
        if self.task_id is not None and self.task_name is not None:
            raise ValueError("Give task_id or task_name, not both.")
        return self

    def reference(self) -> Reference:
        return Reference(self.task_id, self.task_name)


class RequiredTaskRef(TaskRef):
    """``task_id`` xor ``task_name``, one of them required."""

    @model_validator(mode="after")
    def _one(self) -> RequiredTaskRef:
        if self.task_id is None and self.task_name is None:
            raise ValueError("Give task_id or task_name.")
        return self


class TaskCreateParams(RpcParams):
    name: str | None = Field(None, max_length=255)
    params: dict[str, Any] | None = None
    task_metadata: dict[str, Any] | None = None
    timeout_seconds: float | None = Field(None, gt=0, le=10 * 365 * 24 * 3600)

    def reference(self) -> Reference:
        return Reference(None, self.name, creates=True)


class MessageSendParams(TaskRef):
    content: message_content.TaskMessageContent
    stream: bool = False
    task_params: dict[str, Any] | None = None

    def reference(self) -> Reference:
        # A turn by name creates the task when the name is new (get-or-create).
        return Reference(self.task_id, self.task_name, creates=self.task_id is None)


class EventSendParams(RequiredTaskRef):
    content: message_content.TaskMessageContent | None = None
