"""Dependencies: what a route needs, by name (``StoreDep``, ``LifecycleDep``, …).

Everything is taken from ``app.state``, which the factory fills; nothing is global.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import uuid4

from fastapi import Depends, Path, Request
from pydantic import AliasChoices

from agentkeep import errors, keys
from agentkeep.access import ANONYMOUS, Principal, TaskAccess
from agentkeep.domain import live
from agentkeep.lifecycle import Lifecycle
from agentkeep.settings import Settings
from agentkeep.store import SqlStore
from agentkeep.store.rows import AgentRow, TaskRow


def require_operator(principal: Principal, action: str, own_agent_id: str | None = None) -> None:
    """Managing agents takes a configured API key, or the agent's own key on itself.

    403, not 404: agent keys may read every agent (agent-to-agent RPC needs discovery), so
    hiding the agent would hide nothing.
    """
    agent = principal.agent
    if not principal.scoped or (
        own_agent_id is not None and agent is not None and agent["id"] == own_agent_id
    ):
        return
    raise errors.Forbidden(f"Agent keys cannot {action}; use an API key (AGENTKEEP_API_KEYS).")


# Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a
# thread pool, a thread hop per dependency per request on the hottest routes.


def store_of(request: Request) -> SqlStore:
    store: SqlStore = request.app.state.store
    return store


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> SqlStore:
    return store_of(request)


async def get_lifecycle(request: Request) -> Lifecycle:
    lifecycle: Lifecycle = request.app.state.lifecycle
    return lifecycle


async def get_settings(request: Request) -> Settings:
    return settings_of(request)


async def request_id(request: Request) -> str:
    return request.headers.get("x-request-id") or str(uuid4())


def api_key_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    # The cookie is the web UI's; ``api.session.CookieGuard`` vets what it may authenticate.
    return request.headers.get("x-api-key") or request.cookies.get(keys.SESSION_COOKIE)


async def agent_for_key(store: SqlStore, value: str) -> tuple[AgentRow, str] | None:
    """An agent key's agent and type: the registration key, else an internal/external key."""
    agent = await store.agent_by_key(value)
    if agent is not None:
        return agent, "internal"
    return await store.agent_by_api_key(value)


async def get_principal(request: Request) -> Principal:
    """Authenticate the caller.

    An ``x-agent-api-key`` that is sent must be real, whether or not API keys are
    configured: a wrong agent key is always 401, so a misconfigured agent learns at once
    instead of acting anonymously. A configured API key is accepted in that header too
    (agentex-sdk agents can send nothing else), and an API key always wins over an agent
    key: the caller then acts as an operator, unscoped.
    """
    api_keys = settings_of(request).api_key_set
    api_name = api_keys.name_of(api_key_of(request))
    agent_key = request.headers.get("x-agent-api-key")
    agent: AgentRow | None = None
    key_type: str | None = None
    if agent_key:
        key_name = api_keys.name_of(agent_key)
        if key_name is not None:
            api_name = api_name or key_name
        else:
            found = await agent_for_key(store_of(request), agent_key)
            if found is None:
                raise errors.Unauthorized()
            agent, key_type = found
    if api_name is not None:
        return Principal(f"api-key:{api_name}", agent)
    if agent is not None:
        # The id after '#' keeps two agents of one name (one deleted) apart in idempotency
        # scopes; the history shows only ``agent:<name>``.
        return Principal(
            f"agent:{agent['name']}#{agent['id']}", agent, scoped=bool(api_keys), key_type=key_type
        )
    if api_keys:
        raise errors.Unauthorized()
    return ANONYMOUS


StoreDep = Annotated[SqlStore, Depends(get_store)]
LifecycleDep = Annotated[Lifecycle, Depends(get_lifecycle)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
RequestIdDep = Annotated[str, Depends(request_id)]


def own_agent_only(principal: Principal, agent_id: str) -> None:
    """An agent key (with API keys configured) manages its own agent's records only.

    Another agent answers like an unknown one: a 403 would confirm the id is real.
    """
    if principal.confined_to not in (None, agent_id):
        raise errors.NotFound.by_id(agent_id)


async def agent_for(store: SqlStore, principal: Principal, agent_id: str) -> AgentRow:
    """The path's live agent, if this caller may manage it (else 404, as unknown)."""
    own_agent_only(principal, agent_id)
    return live.agent(await store.get_agent(agent_id), agent_id)


async def agent_ref(
    store: SqlStore,
    agent_id: str | None,
    agent_name: str | None,
    verb: str,
    *,
    deleted_too: bool = False,
) -> AgentRow:
    """Exactly one of ``agent_id`` and ``agent_name`` (query or body), naming an agent: a
    live one, or with ``deleted_too`` any that exists."""
    if agent_id is None and agent_name is None:
        raise errors.BadRequest(f"Either 'agent_id' or 'agent_name' must be provided to {verb}.")
    if agent_id is not None and agent_name is not None:
        raise errors.BadRequest(
            f"Only one of 'agent_id' or 'agent_name' should be provided to {verb}."
        )
    by_name = agent_id is None
    ref = agent_name if agent_id is None else agent_id
    assert ref is not None
    row = await (store.get_agent_by_name(ref) if by_name else store.get_agent(ref))
    if deleted_too and row is not None:
        return row
    return live.agent(row, ref, by_name=by_name)


async def get_task_access(store: StoreDep, principal: PrincipalDep) -> TaskAccess:
    # FastAPI caches ``get_principal`` per request: routes that also take PrincipalDep
    # authenticate once.
    return TaskAccess(store, principal)


TaskAccessDep = Annotated[TaskAccess, Depends(get_task_access)]


def id_or_name(id_param: str) -> Any:
    """The path's ``{<id_param>}`` or ``{name}``, whichever the route has: one endpoint
    function serves ``/things/{thing_id}…`` and ``/things/name/{name}…``, each documented
    as it is (``Annotated[str, id_or_name("thing_id")]``)."""
    return Path(validation_alias=AliasChoices(id_param, "name"))


def named(request: Request) -> bool:
    """Whether the route names its resource by ``{name}`` (see ``id_or_name``)."""
    return "name" in request.path_params


TaskPathKey = Annotated[str, id_or_name("task_id")]


@dataclass(frozen=True, slots=True)
class TaskRef:
    """A task the caller may reach, as the path names it."""

    id: str
    #: The name, when the path named the task by name.
    name: str | None = None
    #: The live task, when naming it took reading it.
    row: TaskRow | None = None


async def get_task_ref(
    request: Request, key: TaskPathKey, store: StoreDep, access: TaskAccessDep
) -> TaskRef:
    """By name, the live task of that name. By id, no read: the write that follows refuses
    an unknown or deleted task with the same 404s (``Lifecycle``), so a transition stays
    one statement. A task out of the caller's reach is 404, as an unknown one."""
    if not named(request):
        await access.require(key)
        return TaskRef(key)
    await access.require_name(key)
    row = live.task(await store.get_task_by_name(key), key, by_name=True)
    return TaskRef(row["id"], key, row)


TaskRefDep = Annotated[TaskRef, Depends(get_task_ref)]


async def get_live_task(ref: TaskRefDep, store: StoreDep) -> TaskRow:
    """The live task the path names, reachable by the caller."""
    return ref.row or live.task(await store.get_task(ref.id), ref.id)


LiveTaskDep = Annotated[TaskRow, Depends(get_live_task)]


#: Task versions are a 32-bit column.
MAX_VERSION = 2**31 - 1


async def if_match(request: Request) -> int | None:
    """The version ``If-Match`` asks for; None when absent or ``*`` (any existing task)."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    # ASCII digits only (``"²".isdigit()`` is true), and no more than a version can be: the
    # column is a 32-bit integer, and a longer number would overflow the driver.
    if not (value.isascii() and value.isdigit() and int(value[:11]) <= MAX_VERSION):
        raise errors.BadRequest(
            'If-Match must be a quoted task version such as "3" (from the ETag header) or *.'
        )
    return int(value)


IfMatchDep = Annotated[int | None, Depends(if_match)]
