"""The ingest wing's tables (issue #24): the tokens a source sends traces with, and what the
mapping keeps of the spans it took in (the ledger, and which session, run and step each
conversation, trace and span became: docs/otlp.md).

A token lets one source (an agent, a service, a CI job) post OpenTelemetry traces to
``/v1/traces`` and reach nothing else. Only its SHA-256 is kept: the token is shown once,
when an admin issues it, and cannot be shown again. Revoking keeps the row (who revoked it
and when), so what a token sent stays attributable.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import models, transaction

from memory_app.ids import new_id
from memory_app.runtime.models import Session, Turn, WorkflowRun, WorkflowStep
from memory_app.timeutil import now_iso

# Tells a tommemory ingest token apart from other secrets in a config file or a leak scan.
TOKEN_PREFIX = "tmi_"  # noqa: S105 (a prefix, not a secret)
HINT_LENGTH = len(TOKEN_PREFIX) + 6


def token_digest(secret: str) -> str:
    """What is stored of a token: its SHA-256 (a token is 256 random bits, so no slow hash
    is needed to keep it from being guessed back)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class IngestTokenQuerySet(models.QuerySet):
    def active(self) -> IngestTokenQuerySet:
        return self.filter(revoked_at__isnull=True)

    def holding(self, secret: str) -> IngestToken | None:
        """The active token whose secret this is, or None (one indexed lookup)."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        return self.active().filter(token_hash=token_digest(secret)).first()

    def issue(self, name: str, *, source: str, created_by: str) -> tuple[IngestToken, str]:
        """A new token and its secret, which is shown once and never stored."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with transaction.atomic():
            token = self.create(
                name=name,
                source=source,
                token_hash=token_digest(secret),
                hint=secret[:HINT_LENGTH],
                created_by=created_by,
                created_at=now_iso(),
            )
        return token, secret


class IngestToken(models.Model):
    id = models.TextField(primary_key=True, default=new_id, editable=False)
    name = models.TextField(unique=True, help_text="names the source, e.g. 'support-agent prod'")
    source = models.TextField(blank=True, help_text="what sends with it, for whoever audits it")
    token_hash = models.TextField(unique=True, editable=False)
    hint = models.TextField(editable=False, help_text="the token's first characters")
    created_by = models.TextField(editable=False)
    created_at = models.TextField(editable=False)
    revoked_at = models.TextField(null=True, blank=True, editable=False)  # noqa: DJ001
    revoked_by = models.TextField(null=True, blank=True, editable=False)  # noqa: DJ001

    objects = IngestTokenQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_ingest_tokens"
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def revoke(self, by: str) -> None:
        """Stop accepting the token from now on (kept, with who and when)."""
        if self.revoked_at is None:
            self.revoked_at, self.revoked_by = now_iso(), by
            self.save(update_fields=["revoked_at", "revoked_by"])


# --- what the mapping keeps of the spans it took in (memory_app.ingest.mapping) ------------


class IngestSpan(models.Model):
    """The ledger: each span taken in, once (the same batch sent again writes nothing), with
    the step it became (none when it became none) and how many turns it added."""

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    trace_id = models.TextField()  # 32 lowercase hex digits
    span_id = models.TextField()  # 16
    token = models.ForeignKey(
        IngestToken, null=True, on_delete=models.DB_SET_NULL, related_name="+"
    )
    received_at = models.TextField()
    step = models.ForeignKey(
        WorkflowStep, null=True, on_delete=models.DB_SET_NULL, related_name="+"
    )
    turns = models.IntegerField(default=0)

    class Meta:
        db_table = "tommemory_ingest_spans"
        constraints = [
            models.UniqueConstraint(fields=["trace_id", "span_id"], name="uniq_ingest_span"),
        ]

    def __str__(self) -> str:
        return f"span {self.span_id} of trace {self.trace_id}"


class IngestTrace(models.Model):
    """A trace's run (its spans' steps), and the session its messages went to when they
    named no conversation."""

    trace_id = models.TextField(primary_key=True)
    run = models.OneToOneField(
        WorkflowRun, null=True, on_delete=models.DB_SET_NULL, related_name="+"
    )
    session = models.ForeignKey(Session, null=True, on_delete=models.DB_SET_NULL, related_name="+")
    token = models.ForeignKey(
        IngestToken, null=True, on_delete=models.DB_SET_NULL, related_name="+"
    )
    created_at = models.TextField()

    class Meta:
        db_table = "tommemory_ingest_traces"

    def __str__(self) -> str:
        return f"trace {self.trace_id}"


class IngestConversation(models.Model):
    """The session of a conversation (``gen_ai.conversation.id``), found again by later
    spans. Keyed by the id's SHA-256: a sender's id may be longer than an index entry."""

    key = models.TextField(primary_key=True)
    conversation_id = models.TextField()
    session = models.ForeignKey(Session, on_delete=models.DB_CASCADE, related_name="+")
    token = models.ForeignKey(
        IngestToken, null=True, on_delete=models.DB_SET_NULL, related_name="+"
    )
    created_at = models.TextField()

    class Meta:
        db_table = "tommemory_ingest_conversations"

    def __str__(self) -> str:
        return f"conversation {self.conversation_id[:60]}"

    @staticmethod
    def key_of(conversation_id: str) -> str:
        return hashlib.sha256(conversation_id.encode("utf-8", "surrogatepass")).hexdigest()


class IngestMessage(models.Model):
    """A turn the mapping wrote and the fingerprint of the message it holds
    (``messages.Message.fingerprint``): how a message a later span repeats is known."""

    turn = models.OneToOneField(
        Turn, primary_key=True, on_delete=models.DB_CASCADE, related_name="+"
    )
    session = models.ForeignKey(
        Session, on_delete=models.DB_CASCADE, related_name="+", db_index=False
    )
    fingerprint = models.TextField()

    class Meta:
        db_table = "tommemory_ingest_messages"
        indexes = [
            models.Index(fields=["session", "fingerprint"], name="idx_ingest_messages"),
        ]

    def __str__(self) -> str:
        return f"message {self.fingerprint[:12]} of {self.session_id}"
