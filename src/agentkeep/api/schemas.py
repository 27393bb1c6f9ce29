"""Request bodies. Wire names are Agentex's; unknown fields are ignored (pydantic's default),
because clients and SDK agents send extras."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

AcpType = Literal["sync", "async", "agentic"]
AgentInputType = Literal["text", "json"]
AGENT_NAME_PATTERN = r"^[a-z0-9-]+$"


class AgentRegister(BaseModel):
    name: str = Field(pattern=AGENT_NAME_PATTERN, max_length=255)
    description: str = ""
    acp_url: str = Field(min_length=1)
    acp_type: AcpType = "async"
    agent_id: str | None = None
    registration_metadata: dict[str, Any] | None = None
    agent_input_type: AgentInputType | None = None
    principal_context: Any = None


class AgentRegisterBuild(BaseModel):
    name: str = Field(pattern=AGENT_NAME_PATTERN, max_length=255)
    description: str = ""
    registration_metadata: dict[str, Any] | None = None
    agent_input_type: AgentInputType | None = None


class TaskUpdate(BaseModel):
    task_metadata: dict[str, Any] | None = None
    merge_params: dict[str, Any] | None = None


class TransitionBody(BaseModel):
    reason: str | None = None
