"""Slow clients: uvicorn's HTTP protocol with a deadline for reading request headers.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but it has no
limit on the time or the bytes a client takes to send its headers: 200 connections
trickling a header byte now and then (or one socket that never sends anything) held
memory and file descriptors indefinitely. This protocol gives every request
``HEADER_TIMEOUT_SECONDS`` from the moment the connection is opened, or becomes idle after
a response, to finish its headers, and at most ``MAX_HEADER_BYTES`` of them.

Constants, not settings: ``serve --workers N`` hands uvicorn's configuration, protocol class
included, to each worker process by pickling, so the class must be importable as is.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Request line plus headers; a real client sends a few KiB at most.
MAX_HEADER_BYTES = 64 * 1024
HEADER_TIMEOUT_SECONDS = 10.0


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` plus a deadline and a size bound for request headers."""

    header_timeout: float = HEADER_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    def _arm(self) -> None:
        self._disarm()
        self._header_bytes = 0
        self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._header_deadline is not None:
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._disarm()
                self.send_400_response("Request headers too large.")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle again: the next request's headers get a fresh deadline (the keep-alive
        # timeout alone is cancelled by the first byte a trickling client sends).
        if not self.transport.is_closing():
            self._arm()
