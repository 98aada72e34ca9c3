"""uvicorn's httptools protocol with bounds on what one connection may cost (``churn serve``).

uvicorn has no knob for these under httptools: ``h11_max_incomplete_event_size`` applies to the
h11 protocol only, httptools (llhttp) has no header size limit and joins a header value that
arrives in pieces by concatenation (quadratic: one slow 300 MB header kept a core busy and the
process past 1 GB), ``timeout_keep_alive`` starts only after a first answer (a connection that
never sends a byte stays open for ever), nothing bounds the time a request takes to arrive, and
``limit_concurrency`` answers 503 to requests but still accepts and keeps idle connections
(20,000 of them exhausted the descriptors). So :class:`BoundedHttpToolsProtocol` adds, per
connection, before any byte reaches the parser or the app (limits: :mod:`churn.api.server_limits`):

* a request head (request line and headers) larger than ``max_header_bytes``, or with more than
  ``max_headers`` header lines: 431 and the connection closed;
* a new connection idle for ``idle_timeout`` seconds is closed (uvicorn's keep-alive timer,
  started when the connection opens rather than only after an answer);
* a request not received in full ``request_timeout`` seconds after its first byte: 408 when its
  head is incomplete, else the connection is closed (the app sees a disconnect);
* one connection more than the cap closes the connection that has waited longest for a request
  (idle, or its head still arriving); when every connection is busy in the app, the new one is
  closed instead. So idle sockets cannot lock out a client, nor use the descriptors a champion
  reload needs.

It is selected with ``uvicorn.run(http="churn.api.protocol:BoundedHttpToolsProtocol")`` (a string,
so that ``--workers N`` processes import it too).
"""

from __future__ import annotations

import asyncio
import logging
import time
from http import HTTPStatus
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from churn.api.server_limits import server_limits

log = logging.getLogger("uvicorn.error")
"""uvicorn's own logger for connection problems (it logs its 400s there too)."""

WARN_EVERY_SECONDS = 10.0
"""A kind of refusal is logged at most once per this many seconds (with the count since)."""


class _TooManyHeaders(Exception):
    """Raised from the parser's header callback to stop parsing a head with too many lines."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """One HTTP/1.1 connection with bounded head size, header count, idle and arrival time."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = server_limits()
        self._waiting = _waiting_of(server_state)
        self._head_open = True
        """Bytes received now belong to a request head (no request is in the app)."""
        self._head_bytes = 0
        self._heads_done = 0
        self._header_lines = 0
        self._refusal: tuple[HTTPStatus, str] | None = None
        self._arrival: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept the connection (closing the longest-waiting one at the cap); start idling."""
        super().connection_made(transport)
        self._waiting[self] = None
        if len(self.connections) > self.limits.connection_cap:
            oldest = next((other for other in self._waiting if other is not self), None)
            victim = oldest if oldest is not None else self
            _warn(
                "connection", f"at the cap of {self.limits.connection_cap} connections, one closed"
            )
            del self._waiting[victim]
            victim.transport.close()
            if victim is self:
                return
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and its timers."""
        self._waiting.pop(self, None)
        self._cancel_arrival()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, refusing a head that grows past ``max_header_bytes``."""
        if self._head_open:
            self._arm_arrival()
            room = self.limits.max_header_bytes - self._head_bytes
            if len(data) > room:
                done = self._heads_done
                super().data_received(data[:room])
                if self.transport.is_closing():
                    return
                if self._heads_done == done:
                    self._refuse(
                        HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                        f"request head larger than {self.limits.max_header_bytes} bytes",
                    )
                    return
                data = data[room:]
            else:
                self._head_bytes += len(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        """A request starts: its arrival is timed."""
        super().on_message_begin()
        self._header_lines = 0
        self._arm_arrival()

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count the header lines; past ``max_headers`` the parse stops with a 431."""
        self._header_lines += 1
        if self._header_lines > self.limits.max_headers:
            self._refusal = (
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"more than {self.limits.max_headers} header lines",
            )
            raise _TooManyHeaders
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """The head is in: the request goes to the app and no longer waits."""
        self._head_open = False
        self._head_bytes = 0
        self._heads_done += 1
        self._waiting.pop(self, None)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The request arrived in full in time: stop timing it."""
        self._cancel_arrival()
        self._head_open = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        """Answered: the connection waits for its next request (last in line to be closed)."""
        if not self.transport.is_closing():
            self._waiting[self] = None
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's 400 for a request it cannot parse; 431 when the header count stopped it."""
        if self._refusal is not None:
            self._refuse(*self._refusal)
            return
        super().send_400_response(msg)

    def _arm_arrival(self) -> None:
        if self._arrival is None:
            self._arrival = self.loop.call_later(self.limits.request_timeout, self._too_slow)

    def _cancel_arrival(self) -> None:
        if self._arrival is not None:
            self._arrival.cancel()
            self._arrival = None

    def _too_slow(self) -> None:
        """The request did not arrive in time: 408 if its head is incomplete, else close."""
        self._arrival = None
        if self.transport.is_closing():
            return
        seconds = f"{self.limits.request_timeout:g}"
        if self._head_open:
            self._refuse(HTTPStatus.REQUEST_TIMEOUT, f"request not received within {seconds} s")
            return
        _warn("body", f"request body not received within {seconds} s; connection closed")
        self.transport.close()

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        """Answer ``status`` with ``message`` as plain text and close the connection.

        While an answer to an earlier (pipelined) request is still being written, the
        connection is only closed: a second answer would be interleaved with it.
        """
        _warn(str(status.value), f"{status.value} {status.phrase}: {message}")
        self._cancel_arrival()
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()
            return
        body = f"{status.phrase}: {message}\n".encode()
        head = [f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head.append(b"content-type: text/plain; charset=utf-8\r\n")
        head.append(f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode())
        self.transport.write(b"".join(head) + body)
        self.transport.close()


def _waiting_of(server_state: ServerState) -> dict[BoundedHttpToolsProtocol, None]:
    """The server's connections that wait for a request, longest-waiting first."""
    waiting: dict[BoundedHttpToolsProtocol, None] | None = getattr(
        server_state, "churn_waiting", None
    )
    if waiting is None:
        waiting = {}
        server_state.churn_waiting = waiting  # type: ignore[attr-defined]
    return waiting


_last_warned: dict[str, tuple[float, int]] = {}


def _warn(kind: str, message: str) -> None:
    """Log a refusal, at most once per :data:`WARN_EVERY_SECONDS` per kind (a flood is one line)."""
    now = time.monotonic()
    since, count = _last_warned.get(kind, (float("-inf"), 0))
    if now - since < WARN_EVERY_SECONDS:
        _last_warned[kind] = (since, count + 1)
        return
    _last_warned[kind] = (now, 0)
    more = f" ({count} more since the last warning)" if count else ""
    log.warning("refused: %s%s", message, more)
