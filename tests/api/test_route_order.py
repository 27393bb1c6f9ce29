"""Routers are included busiest first (``create_app``), which is safe only where their paths
cannot collide: where two routers' paths do overlap, these are the routes that must win."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

from agentkeep.app import create_app
from agentkeep.settings import Settings


def _winner(routes: list[BaseRoute], method: str, path: str) -> str:
    """The path template of the first route that takes ``method path``, as the router
    looks for it (included routers are searched in order, their routes in order)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            found = _winner(nested.routes, method, path)
            if found:
                return found
        elif isinstance(route, APIRoute) and route.matches(scope)[0] == Match.FULL:
            return route.path
    return ""


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("GET", "/tasks/name/stream", "/tasks/name/{name}"),
        ("GET", "/tasks/name/export", "/tasks/name/{name}"),
        ("GET", "/tasks/name/query/stream", "/tasks/name/{task_name}/stream"),
        ("GET", "/agents/name/deployments", "/agents/name/{name}"),
        ("GET", "/agents/name/schedules", "/agents/name/{name}"),
        ("POST", "/agents/forward/name/a/rpc", "/agents/forward/name/{agent_name}/{path:path}"),
        ("POST", "/agents/name/a/rpc", "/agents/name/{name}/rpc"),
        ("POST", "/tasks/a/complete", "/tasks/{task_id}/complete"),
        ("GET", "/healthz", "/healthz"),
    ],
)
def test_overlapping_paths_go_to_the_intended_route(
    tmp_path: Path, method: str, path: str, route: str
) -> None:
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/order.db"))
    assert _winner(app.router.routes, method, path) == route
