"""One webhook attempt is bounded, goes only where its endpoint says, and only over http(s).

The receivers here are loopback servers that misbehave: they trickle their answer a byte
at a time, or redirect. Time is measured with ``time.monotonic`` around one bounded call.
"""

import contextlib
import socketserver
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from memory_app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from memory_app.notify import notifications, webhook_http

pytestmark = pytest.mark.django_db

TIMEOUT = 1.0
# What the attempt may take beyond its timeout: the watchdog's thread and closing.
SLACK = 0.5
# A trickling receiver stops after this long, so a test without the bound still ends.
TRICKLE_SECONDS = 6.0


class Misbehaving(socketserver.ThreadingTCPServer):
    """A loopback receiver that reads the request, then answers as ``answer`` says."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer):
        self.paths: list[str] = []
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                headers, _, body = head.partition(b"\r\n\r\n")
                lines = headers.decode().split("\r\n")
                length = next(
                    int(line.split(":", 1)[1])
                    for line in lines
                    if line.lower().startswith("content-length:")
                )
                while len(body) < length:
                    body += self.request.recv(4096)
                server.paths.append(lines[0].split()[1])
                with contextlib.suppress(OSError):  # the client hung up: a bounded attempt
                    answer(self.request, server)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


def trickle(sock, data: bytes) -> None:
    """Send ``data`` a byte every tenth of a second, for at most ``TRICKLE_SECONDS``."""
    for byte in data[: int(TRICKLE_SECONDS * 10)]:
        sock.sendall(bytes([byte]))
        time.sleep(0.1)


def trickled_headers(sock, server) -> None:
    trickle(sock, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Padding: " + b"x" * 200)


def trickled_body(sock, server) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    trickle(sock, b"y" * 100000)


def redirect(sock, server) -> None:
    target = server.url("/secret")
    sock.sendall(f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\n".encode())
    sock.sendall(b"Content-Length: 5\r\n\r\nmoved")


def fine(sock, server) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nthanks")


@pytest.fixture
def serve():
    made = []

    def start(answer) -> Misbehaving:
        made.append(Misbehaving(answer))
        return made[-1]

    yield start
    for server in made:
        server.shutdown()
        server.server_close()


def delivery_to(url: str) -> WebhookDelivery:
    endpoint = WebhookEndpoint.objects.create(name=url, url=url, events=["decision.recorded"])
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event="decision.recorded", event_id="e1", body='{"event": "x"}'
    )


def send(*deliveries: WebhookDelivery) -> float:
    """The worker's send task over the deliveries; returns the seconds it took."""
    started = time.monotonic()
    notifications.send.call([d.pk for d in deliveries])
    return time.monotonic() - started


@pytest.mark.parametrize("answer", [trickled_headers, trickled_body])
def test_a_trickling_receiver_holds_an_attempt_no_longer_than_the_timeout(answer, serve, settings):
    settings.TOM_WEBHOOK_TIMEOUT = TIMEOUT
    slow = delivery_to(serve(answer).url())
    prompt = delivery_to(serve(fine).url())
    assert send(slow, prompt) < TIMEOUT + SLACK  # and so the prompt one waits no longer
    slow.refresh_from_db()
    prompt.refresh_from_db()
    assert slow.status == DeliveryStatus.RETRYING  # a failed attempt, tried again later
    assert "no complete answer within 1 s" in slow.error
    assert slow.duration_ms < (TIMEOUT + SLACK) * 1000
    assert prompt.status == DeliveryStatus.DELIVERED


def test_the_bound_holds_for_one_attempt_on_its_own(serve):
    url = serve(trickled_body).url()
    started = time.monotonic()
    outcome = webhook_http.post(url, b"{}", {"Content-Type": "application/json"}, 0.5)
    assert time.monotonic() - started < 0.5 + SLACK
    assert not outcome.ok
    assert outcome.status == 200  # what arrived is logged, but it did not arrive in full


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(serve, settings):
    settings.TOM_WEBHOOK_TIMEOUT = TIMEOUT
    server = serve(redirect)
    delivery = delivery_to(server.url("/hook"))
    send(delivery)
    delivery.refresh_from_db()
    assert server.paths == ["/hook"]  # nothing was sent where the Location pointed
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.response_status == 307
    assert delivery.response_body == "moved"
    assert f"redirect to '{server.url('/secret')}' not followed" in delivery.error


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/", "http:///x"]
)
def test_only_http_urls_are_saved(url):
    with pytest.raises(ValidationError):
        WebhookEndpoint.objects.create(name="x", url=url, events=["decision.recorded"])
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_changed_behind_the_model_is_refused_at_send(serve, settings):
    """Another writer may change the URL in the table; the attempt checks it again."""
    server = serve(fine)
    delivery = delivery_to(server.url())
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tommemory_webhook_endpoints SET url = %s", ["file:///etc/passwd"])
    send(delivery)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.response_status is None
    assert "not an http(s) URL" in delivery.error
    assert server.paths == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.example.org/x", ""),
        ("HTTP://127.0.0.1:8080/x?y=1", ""),
        ("file:///etc/passwd", "not an http(s) URL"),
        ("javascript:alert(1)", "not an http(s) URL"),
        ("http://", "no host"),
        ("http://127.0.0.1:port/", "not a URL"),
    ],
)
def test_the_url_rule(url, problem):
    found = webhook_http.url_problem(url)
    assert (problem in found) if problem else found == ""
