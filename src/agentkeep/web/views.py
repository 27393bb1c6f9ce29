"""Routes of the UI: ``/`` redirects to ``/ui``; ``/ui`` and ``/ui/tasks/{id}`` serve the
same HTML shell (the browser app reads the path); ``/ui/static/...`` serves the assets.

No route here reads the store: the browser calls the public API like any other client, so
the UI can never see or do more than the credential it holds.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from agentkeep import errors

HERE = Path(__file__).parent
STATIC = HERE / "static"
SHELL = (HERE / "templates" / "index.html").read_text()

# Scripts only from our own origin: no inline script, no eval, so a message that smuggles
# markup past the sanitizer still cannot run code. Images may come from elsewhere
# (agents link charts); frames, plugins and <base> are off.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https: http:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui")
@router.get("/ui/")
async def ui() -> Response:
    return HTMLResponse(SHELL, headers=SECURITY_HEADERS)


@router.get("/ui/tasks/{task_id}")
async def ui_task(task_id: str) -> Response:
    # The app loads the task itself and shows "not found" in the page: the URL is the
    # task's address, so a reload or a shared link lands on the same view.
    return HTMLResponse(SHELL, headers=SECURITY_HEADERS)


@router.get("/ui/static/{path:path}")
async def static(path: str) -> Response:
    file = (STATIC / path).resolve()
    # Resolve first, then require the result inside STATIC: ``..`` and symlinks cannot
    # reach the rest of the file system.
    if not file.is_relative_to(STATIC.resolve()) or not file.is_file():
        raise errors.NotFound(f"No UI asset at /ui/static/{path}.")
    media = MEDIA_TYPES.get(file.suffix, "text/plain; charset=utf-8")
    # ``no-cache`` still lets the browser reuse its copy after a 304 (ETag); an upgraded
    # package is picked up on the next load without fingerprinted names.
    return FileResponse(file, media_type=media, headers=SECURITY_HEADERS)
