"""Request bodies. Wire names are Agentex's; unknown fields are ignored (pydantic's default),
because clients and SDK agents send extras."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from agentkeep.domain.limits import CheckedBody, Description, Metadata, Reason

AcpType = Literal["sync", "async", "agentic"]
AgentInputType = Literal["text", "json"]
AGENT_NAME_PATTERN = r"^[a-z0-9-]+$"


class AgentRegister(CheckedBody):
    name: str = Field(pattern=AGENT_NAME_PATTERN, max_length=255)
    description: Description = ""
    acp_url: str = Field(min_length=1, max_length=2048)
    acp_type: AcpType = "async"
    agent_id: str | None = None
    registration_metadata: Metadata | None = None
    agent_input_type: AgentInputType | None = None
    principal_context: Any = None


class AgentRegisterBuild(CheckedBody):
    name: str = Field(pattern=AGENT_NAME_PATTERN, max_length=255)
    description: Description = ""
    registration_metadata: Metadata | None = None
    agent_input_type: AgentInputType | None = None


class TaskUpdate(CheckedBody):
    task_metadata: Metadata | None = None
    merge_params: dict[str, Any] | None = None


class TransitionBody(CheckedBody):
    reason: Reason | None = None
