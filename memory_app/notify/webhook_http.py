"""One webhook attempt over HTTP: bounded in total, never redirected, http(s) only.

A socket timeout bounds each read, not an attempt: a receiver that sends its headers and
then a byte a second would hold the attempt (and the worker) as long as it likes. So each
attempt has a deadline, and a watchdog shuts the connection's socket when it passes; every
read or write under way then ends at once. Redirects are not followed: the signed request
would go wherever a ``Location`` says (any local address), so a 3xx is a failed attempt.
Proxies from the environment are not used either: a delivery goes straight to its URL.

Not bounded by the deadline: resolving the host name, which the system resolver bounds.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
# The most of a receiver's answer kept for the delivery log.
ANSWER_BYTES = 2000


@dataclass(frozen=True)
class Outcome:
    status: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        """Delivered: a 2xx answered in full within the deadline."""
        return self.status is not None and 200 <= self.status < 300 and not self.error


def url_problem(url: str) -> str:
    """Why an endpoint's URL cannot be posted to, or "" (the check at save and at send)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError as bad:
        return f"not a URL: {bad}"
    if parts.scheme.lower() not in SCHEMES:
        return f"not an http(s) URL: {url!r}"
    if not parts.hostname:
        return f"no host in {url!r}"
    return ""


class _Watchdog:
    """Shuts an attempt's socket when its deadline passes.

    It holds its own duplicate of the socket, made as soon as the connection exists (before
    TLS wraps it), so it can shut it at any stage: connecting, the TLS handshake, sending,
    reading; a read blocked in another thread then ends at once. Its duplicate is closed
    only when the attempt is done, so the descriptor it shuts is never another's.
    """

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.expired = self.ended = False
        self.handle: socket.socket | None = None
        self.lock = threading.Lock()
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True
        self.timer.start()

    def connect(self, address, timeout=None, source_address=None) -> socket.socket:
        """``socket.create_connection`` with what is left of the deadline, watched."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the deadline passed before connecting")
        sock = socket.create_connection(address, remaining, source_address)
        with self.lock:
            if self.expired:  # it fired while connecting, before there was a socket
                sock.close()
                raise TimeoutError("the deadline passed while connecting")
            self.handle = sock.dup()
        return sock

    def _expire(self) -> None:
        with self.lock:
            if self.ended:
                return
            self.expired = True
            if self.handle is not None:
                with contextlib.suppress(OSError):  # the receiver closed it already
                    self.handle.shutdown(socket.SHUT_RDWR)

    def done(self) -> None:
        with self.lock:
            self.ended = True
            self.timer.cancel()
            if self.handle is not None:
                self.handle.close()


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST ``body``; the attempt ends within ``timeout`` seconds in total, whatever the
    receiver does. Touches no database, so attempts run side by side in threads."""
    if problem := url_problem(url):
        return Outcome(None, "", problem, 0)
    started = time.monotonic()
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection
    if parts.scheme.lower() == "http":
        connection_class = http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    watchdog = _Watchdog(timeout)
    # How http.client makes its socket (before any TLS): through the watchdog.
    connection._create_connection = watchdog.connect
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    status, text, error = None, "", ""
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        status = response.status
        text = response.read(ANSWER_BYTES).decode(errors="replace")
        if 300 <= status < 400:
            location = response.getheader("Location", "")
            error = f"HTTP {status}: redirect to {location!r} not followed"
        elif not 200 <= status < 300:
            error = f"HTTP {status}"
    except (OSError, http.client.HTTPException, ValueError) as failed:
        error = str(failed) or type(failed).__name__
    finally:
        watchdog.done()
        connection.close()
    if watchdog.expired:
        error = f"no complete answer within {timeout:g} s (TOM_WEBHOOK_TIMEOUT)"
    return Outcome(status, text, error, int((time.monotonic() - started) * 1000))
