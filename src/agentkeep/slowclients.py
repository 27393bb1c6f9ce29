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
    """``HttpToolsProtocol`` plus a deadline and a size bound for request headers.

    One timer per connection, moved lazily: each request only notes when its headers are
    due (``_due``), and the timer, when it fires, closes the connection if they are late
    or sleeps until they are due. A timer armed and cancelled on every request cost more
    than the rest of this class on a busy keep-alive connection.
    """

    header_timeout: float = HEADER_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        #: When the awaited headers are due (loop time); None while none are awaited.
        self._due: float | None = None
        self._header_bytes = 0

    def _await_headers(self) -> None:
        self._header_bytes = 0
        self._due = self.loop.time() + self.header_timeout
        if self._timer is None:
            self._timer = self.loop.call_at(self._due, self._check)

    def _check(self) -> None:
        self._timer = None
        if self._due is None or self.transport.is_closing():
            return  # a request is being served: the next idle spell arms the timer again
        if self.loop.time() >= self._due:
            self.transport.close()
        else:
            self._timer = self.loop.call_at(self._due, self._check)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._due = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._due is not None:
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._due = None
                self.send_400_response("Request headers too large.")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._due = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle again: the next request's headers get a fresh deadline (the keep-alive
        # timeout alone is cancelled by the first byte a trickling client sends).
        if not self.transport.is_closing():
            self._await_headers()
