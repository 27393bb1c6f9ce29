"""The API docs, served offline: Swagger UI at ``/swagger`` and ``/docs``, ReDoc at ``/redoc``.

The JavaScript and CSS come from the ``fastapi-offline`` package's static files (MIT; Swagger
UI and ReDoc themselves are Apache-2.0 and MIT), mounted under ``/docs-assets``: a server
with no internet still shows its docs, and a browser reading them makes no request
elsewhere (no CDN, no Google Fonts, no validator badge). ``GET /`` redirects here.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from agentkeep.metrics import ROUTE_KEY

#: Where ``GET /`` sends a visitor (the UI, once it is served, takes this over).
ASSETS = "/docs-assets"
OPENAPI = "/openapi.json"
TITLE = "agentkeep"


#: ReDoc's bundle shows a logo it fetches from its makers' CDN; offline it only fails (and
#: hides), but the docs must not reach out at all, so the URL is blanked (an empty ``src``
#: fires the image's error handler without a request).
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


def _static_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


@lru_cache(maxsize=1)
def _redoc_js() -> bytes:
    return (_static_dir() / "redoc.standalone.js").read_bytes().replace(REDOC_LOGO, b"")


async def redoc_js() -> Response:
    return Response(
        _redoc_js(),
        media_type="text/javascript",
        headers={"cache-control": "public, max-age=86400"},
    )


async def swagger() -> Response:
    return get_swagger_ui_html(
        openapi_url=OPENAPI,
        title=f"{TITLE} — Swagger UI",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        # No badge image fetched from validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )


async def redoc() -> Response:
    return get_redoc_html(
        openapi_url=OPENAPI,
        title=f"{TITLE} — ReDoc",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )


class _Assets:
    """The static files, named as one route in the request metrics."""

    def __init__(self, files: ASGIApp) -> None:
        self.files = files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[ROUTE_KEY] = ASSETS
        await self.files(scope, receive, send)


def install(app: FastAPI) -> None:
    """Add the docs pages and their assets (create the app with ``docs_url=None,
    redoc_url=None``). ``/`` belongs to the web UI."""
    for path in ("/swagger", "/docs"):
        app.add_api_route(path, swagger, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    # Before the mount, so this one file is served patched (see ``REDOC_LOGO``).
    app.add_api_route(f"{ASSETS}/redoc.standalone.js", redoc_js, include_in_schema=False)
    app.mount(ASSETS, _Assets(StaticFiles(directory=_static_dir())), name="docs-assets")
