"""Assertions shared by the API tests."""

from __future__ import annotations

import httpx


def assert_error(r: httpx.Response, code: int, message: str | None = None) -> None:
    """``r`` is the error envelope with HTTP status ``code`` (and ``message``, if given)."""
    assert r.status_code == code, r.text
    body = r.json()
    assert set(body) == {"message", "code", "data"} and body["code"] == code
    if message is not None:
        assert body["message"] == message
