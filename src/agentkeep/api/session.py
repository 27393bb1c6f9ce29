"""The web UI's session cookie and the one guard on what that cookie may do.

``POST /auth/session`` checks an API key and stores it in the ``agentkeep_api_key`` cookie
(``HttpOnly`` so page scripts cannot read it, ``SameSite=Strict`` so other sites' pages do
not send it, ``Secure`` over https); ``DELETE /auth/session`` clears it. The API and the
SSE route accept the cookie like ``x-api-key`` (``EventSource`` cannot set headers).

A browser attaches cookies on its own, so a request carrying the cookie and no credential
header may be a cross-site forgery: a form posting ``application/x-www-form-urlencoded``
or a ``text/plain`` body that happens to be JSON. ``CookieGuard`` lets such a request
change anything only if it is JSON and comes from this server's own origin (headers a
page on another site cannot forge). Reads (GET, HEAD) are left alone: they change nothing,
and an ``EventSource`` sends no ``Origin``.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from pydantic import Field
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from agentkeep import errors, keys
from agentkeep.api import responses
from agentkeep.api.deps import SettingsDep
from agentkeep.domain.limits import CheckedBody

router = APIRouter(tags=["auth"])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class SessionCreate(CheckedBody):
    api_key: str = Field(min_length=1, max_length=4096)


def _set_cookie(request: Request, value: str, *, clear: bool = False) -> Response:
    cookie: SimpleCookie = SimpleCookie()
    cookie[keys.SESSION_COOKIE] = value
    morsel = cookie[keys.SESSION_COOKIE]
    morsel["httponly"] = True
    morsel["samesite"] = "Strict"
    morsel["path"] = "/"
    if request.url.scheme == "https":
        morsel["secure"] = True
    if clear:
        morsel["max-age"] = 0
    return Response(status_code=204, headers={"set-cookie": morsel.OutputString()})


@router.post("/auth/session", status_code=204, response_class=Response)
async def create_session(body: SessionCreate, request: Request, settings: SettingsDep) -> Response:
    """[ext] Keep a configured API key in an HttpOnly cookie for the web UI."""
    api_keys = settings.api_key_set
    if not api_keys:
        raise errors.BadRequest(
            "No API keys are configured (AGENTKEEP_API_KEYS), so no session is needed."
        )
    if api_keys.name_of(body.api_key) is None:
        raise errors.Unauthorized()
    return _set_cookie(request, body.api_key)


@router.delete("/auth/session", status_code=204, response_class=Response)
async def delete_session(request: Request) -> Response:
    """[ext] Forget the session cookie."""
    return _set_cookie(request, "", clear=True)


class CookieGuard:
    """Refuse (403) state-changing requests authenticated by the session cookie alone,
    unless they are JSON from this server's own origin. Only with API keys configured:
    without them the cookie authenticates nothing."""

    def __init__(self, app: ASGIApp, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = Headers(scope=scope)
            if _cookie_alone(headers):
                problem = _refusal(scope, headers)
                if problem is not None:
                    await responses.error_response(errors.Forbidden(problem))(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _cookie_alone(headers: Headers) -> bool:
    """Whether the cookie is the only credential (a page on another site can set no header)."""
    if keys.SESSION_COOKIE not in cookie_parser(headers.get("cookie", "")):
        return False
    # Mirrors ``deps.api_key_of``: an empty header does not stand in for the cookie there.
    bearer = headers.get("authorization", "")[:7].lower() == "bearer "
    return not (bearer or headers.get("x-api-key") or headers.get("x-agent-api-key"))


def _refusal(scope: Scope, headers: Headers) -> str | None:
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        same_origin = fetch_site == "same-origin"
    else:
        same_origin = _same_origin(scope, headers)
    if not same_origin:
        return (
            "Cross-site requests cannot use the session cookie: send the API key in "
            "x-api-key or Authorization: Bearer instead."
        )
    content_type = headers.get("content-type")
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    if (content_type is not None or has_body) and not _is_json(content_type):
        return "Requests authenticated by the session cookie must send JSON (application/json)."
    return None


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _origin_tuple(scheme: str, netloc: str) -> tuple[str, str, int | None]:
    parts = urlsplit(f"{scheme}://{netloc}")
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def _same_origin(scope: Scope, headers: Headers) -> bool:
    """Whether ``Origin`` names this server, as the client reached it (scheme + Host)."""
    origin = headers.get("origin")
    host = headers.get("host")
    if not origin or not host or "://" not in origin:
        return False
    scheme, _, netloc = origin.partition("://")
    own = _origin_tuple(str(scope.get("scheme", "http")), host)
    return _origin_tuple(scheme.lower(), netloc) == own
