"""Message content: Agentex's ``TaskMessageContent`` union, discriminated on ``type``.

Bodies are validated here (a wrong type or value is a 422, never a 500 later) and stored
as ``model_dump`` output, so defaults such as ``style: "static"`` are filled in exactly as
Agentex fills them and readers always see complete objects.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, get_args

from pydantic import BaseModel, Field, TypeAdapter

Author = Literal["user", "agent"]
Style = Literal["static", "active"]
#: A message's ``streaming_status``: IN_PROGRESS while an agent streams it, then DONE.
StreamingStatus = Literal["IN_PROGRESS", "DONE"]
STREAMING_STATUSES: tuple[str, ...] = get_args(StreamingStatus)
IN_PROGRESS: Final = "IN_PROGRESS"
DONE: Final = "DONE"


class Attachment(BaseModel):
    file_id: str
    name: str
    size: int
    type: str


class TextContent(BaseModel):
    type: Literal["text"] = "text"
    author: Author
    style: Style = "static"
    format: Literal["markdown", "plain", "code"] = "plain"
    content: str
    attachments: list[Attachment] | None = None


class DataContent(BaseModel):
    type: Literal["data"]
    author: Author
    style: Style = "static"
    data: dict[str, Any]


class ToolRequestContent(BaseModel):
    type: Literal["tool_request"]
    author: Author
    style: Style = "static"
    tool_call_id: str
    name: str
    arguments: dict[str, Any]


class ToolResponseContent(BaseModel):
    type: Literal["tool_response"]
    author: Author
    style: Style = "static"
    tool_call_id: str
    name: str
    content: Any
    is_error: bool | None = None


class ReasoningContent(BaseModel):
    type: Literal["reasoning"]
    author: Author
    style: Style = "static"
    summary: list[str]
    content: list[str] | None = None


TaskMessageContent = Annotated[
    TextContent | DataContent | ToolRequestContent | ToolResponseContent | ReasoningContent,
    Field(discriminator="type"),
]

_adapter: TypeAdapter[Any] = TypeAdapter(TaskMessageContent)


def dump(content: BaseModel) -> dict[str, Any]:
    """The stored and wire form of validated content."""
    out: dict[str, Any] = content.model_dump(mode="json")
    return out


def validate(raw: Any) -> dict[str, Any]:
    """Validate raw content (raises ``pydantic.ValidationError``) and return its wire form."""
    return dump(_adapter.validate_python(raw))
