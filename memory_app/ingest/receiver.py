"""``POST /v1/traces``: the OTLP/HTTP receiver (issue #24).

An agent's OpenTelemetry exporter posts its spans here with an ingest token
(``Authorization: Bearer tmi_...``); nothing else is reachable with one, and this is the one
URL that needs no session login (a token, no cookie, so no CSRF either). What each span
becomes is the mapping's (``memory_app.ingest.mapping``); this module is the HTTP around it:
the token, the encodings, the size limit, how many ingests run at once, and answers as the
OTLP specification words them (``memory_app.ingest.wire``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from memory_app.errors import StoreError
from memory_app.ingest import wire
from memory_app.ingest.decode import Undecodable, decode
from memory_app.ingest.mapping import Outcome, ingest
from memory_app.ingest.models import IngestToken

log = logging.getLogger(__name__)

# Seconds a client waits before sending again (Retry-After). A full house of ingests in
# this process clears within a batch's time; a busy database (another writer holding
# SQLite's lock past the busy timeout, a PostgreSQL lock conflict) takes longer.
BUSY_RETRY_AFTER = 1
DATABASE_RETRY_AFTER = 5
REALM = 'Bearer realm="tommemory ingest"'


class Admission:
    """How many ingests run at once in this process (``TOM_INGEST_CONCURRENCY``): past it a
    request is answered 429 at once instead of queueing on the database's write lock
    with its body in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """Whether the request may run now; its place is given back when it is done."""
        with self._lock:
            admitted = self.running < settings.TOM_INGEST_CONCURRENCY
            if admitted:
                self.running += 1
        try:
            yield admitted
        finally:
            if admitted:
                with self._lock:
                    self.running -= 1


ADMISSION = Admission()


type OtlpView = Callable[[HttpRequest, str | None], HttpResponse]


def otlp_endpoint(view: OtlpView) -> Callable[[HttpRequest], HttpResponse]:
    """An OTLP/HTTP endpoint: no session login and no CSRF check (the caller holds a token,
    not a cookie), POST only (the specification's one method; 405 names it), and every
    refusal answered with a google.rpc.Status in the request's content type. A busy or
    unreachable database is a 503 with Retry-After, which exporters retry, never a 500."""

    @wraps(view)
    def endpoint(request: HttpRequest) -> HttpResponse:
        media = wire.content_type(request)
        try:
            if request.method != "POST":
                raise wire.Refusal(
                    405, f"{request.method} is not accepted here: OTLP/HTTP sends spans with POST",
                    wire.UNIMPLEMENTED, Allow="POST",
                )  # fmt: skip
            return view(request, media)
        except (OperationalError, InterfaceError, IntegrityError) as exc:
            # Locked, timed out, deadlocked, disconnected, or a concurrent batch wrote the
            # same row first: the same batch sent again is written once (the mapping is
            # idempotent), so the client's retry is the remedy.
            log.warning("OTLP ingest answered 503, the database was busy: %s", exc)
            refusal = wire.Refusal(
                503, "the database is busy; send this batch again later", wire.UNAVAILABLE,
                Retry_After=str(DATABASE_RETRY_AFTER),
            )  # fmt: skip
            return wire.refusal_response(refusal, media)
        except wire.Refusal as refusal:
            return wire.refusal_response(refusal, media)

    return csrf_exempt(login_not_required(endpoint))


def bearer_token(request: HttpRequest) -> IngestToken:
    """The active ingest token the request's ``Authorization: Bearer`` names, or 401."""
    scheme, _, secret = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise wire.Refusal(
            401, "send an ingest token: Authorization: Bearer tmi_...", wire.UNAUTHENTICATED,
            WWW_Authenticate=REALM,
        )  # fmt: skip
    token = IngestToken.objects.holding(secret)
    if token is None:
        raise wire.Refusal(
            401, "this ingest token is unknown or revoked", wire.UNAUTHENTICATED,
            WWW_Authenticate=f'{REALM}, error="invalid_token"',
        )  # fmt: skip
    return token


@otlp_endpoint
def traces(request: HttpRequest, media: str | None) -> HttpResponse:
    """An ExportTraceServiceRequest in; its spans written through the store; an
    ExportTraceServiceResponse out (``partial_success`` naming what the mapping rejected
    and why)."""
    token = bearer_token(request)
    if media is None:
        raise wire.Refusal(
            415, f"send {wire.PROTOBUF} or {wire.JSON} (OTLP/HTTP), not "
            f"{request.META.get('CONTENT_TYPE') or 'no Content-Type'}",
        )  # fmt: skip
    with ADMISSION.slot() as admitted:
        if not admitted:
            raise wire.Refusal(
                429, "this server is taking in other batches; send this one again shortly",
                wire.RESOURCE_EXHAUSTED, Retry_After=str(BUSY_RETRY_AFTER),
            )  # fmt: skip
        body = wire.read_body(request, settings.TOM_INGEST_MAX_BYTES)
        try:
            export = decode(body, media)
        except Undecodable as exc:
            raise wire.Refusal(400, f"not an ExportTraceServiceRequest in {media}: {exc}") from None
        outcome = write(export, token)
    return wire.export_response(
        media, rejected_spans=outcome.rejected_spans, error_message=outcome.error_message
    )


def write(export, token: IngestToken) -> Outcome:
    """The batch's spans through the mapping, in the transactions it chooses (no wider one
    here: SQLite's write lock is held no longer than the mapping needs it, so the
    runtime's and reviewers' writes go in between). A batch that fails midway is answered
    503 and sent again; the mapping's ledger skips the spans it had already taken, so
    nothing is written twice."""
    try:
        return ingest(export, token=token)
    except (StoreError, DataError) as exc:
        # A value the store or the database refuses, which the mapping let through: the
        # batch is bad data (400, not retried), and the log says which, to be fixed there.
        log.warning("OTLP ingest refused a batch the mapping passed: %r", exc)
        raise wire.Refusal(400, f"a value in this batch cannot be stored: {exc}") from None
