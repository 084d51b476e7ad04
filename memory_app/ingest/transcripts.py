"""Spans' messages as the turns of sessions, each written once, in the order they happened.

Which session: a span's conversation (``messages.CONVERSATION_KEYS``, else the first
conversation another span of its trace names in the batch) finds the session made for it
before, in any batch (``IngestConversation``); a trace naming none has a session of its own
(``IngestTrace.session``). A conversation first named by a trace whose messages already
went to the trace's own session takes that session on, so the trace stays in one.

Which messages: a span's input repeats the history it sent the model, and an agent's span
repeats what its model calls said. A message is recorded when the session holds fewer
messages with its fingerprint (role and parts, ``Message.fingerprint``) than the span
shows up to and including it: the k-th "yes" of a span's input is new when the session
holds fewer than k; an output counts the input's copies before it. So history is never
appended twice, and a message said again is recorded again once a span shows both.

In what order: within a batch, messages are written in the order they happened (an input
at its span's start or its event's time, an output at the span's end), so an agent's span
that starts first and ends last frames its model calls' turns. ``turn_index`` only grows
(v1): a message older than the session's last turn, arriving in a later batch, is appended
after it with its own ``created_at`` and ``otlp.arrived_late`` in its metadata.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Count, Max

from memory_app.ingest.messages import OUTPUT, Message
from memory_app.ingest.models import IngestConversation, IngestMessage, IngestToken
from memory_app.ingest.spans import ReadSpan, iso
from memory_app.ingest.workflows import Timeline, storable
from memory_app.runtime.models import Turn, WorkflowStep
from memory_app.store import RuntimeMemoryStore
from memory_app.timeutil import now_iso

MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "ai.response.model", "ai.model.id")


class Transcripts:
    """The sessions one trace's spans write their messages to."""

    def __init__(self, timeline: Timeline, token: IngestToken) -> None:
        self.timeline, self.token = timeline, token
        self.counts: dict[str, Counter] = {}  # session id -> fingerprint -> turns
        self.last: dict[str, str] = {}  # session id -> its latest turn's created_at
        self.sessions: dict[str | None, str] = {}  # conversation id -> session id
        self.fingerprints: list[IngestMessage] = []

    def record(self, spans: list[ReadSpan], steps: dict[str, WorkflowStep]) -> dict[str, int]:
        """Write the new messages of ``spans`` (sorted by start); how many turns each span
        added, by span id."""
        default = next((s.conversation_id for s in spans if s.conversation_id), None)
        happened = []
        for span in spans:
            seen: Counter = Counter()
            for seq, message in enumerate(span.inputs + span.outputs):
                seen[message.fingerprint] += 1
                time_ns = message.time_ns
                key = (time_ns, message.phase, span.start_ns, span.order, seq)
                happened.append((key, span, message, seen[message.fingerprint]))
        happened.sort(key=lambda item: item[0])
        added: Counter = Counter()
        for _, span, message, occurrence in happened:
            session_id = self.session_for(span, span.conversation_id or default, message)
            counts = self._counts(session_id)
            if counts[message.fingerprint] >= occurrence:
                continue
            self._append(session_id, span, message, steps.get(span.span_id))
            counts[message.fingerprint] += 1
            added[span.span_id] += 1
        IngestMessage.objects.bulk_create(self.fingerprints)
        self.fingerprints = []
        return dict(added)

    def session_for(self, span: ReadSpan, conversation: str | None, first: Message) -> str:
        if conversation in self.sessions:
            return self.sessions[conversation]
        trace = self.timeline.trace
        if conversation is None:
            if trace.session_id is None:
                trace.session_id = self._start(span, {"trace_id": span.trace_id}, first)
                self.timeline.changed = True
            session_id = trace.session_id
        else:
            key = IngestConversation.key_of(conversation)
            link = IngestConversation.objects.filter(pk=key).first()
            if link is not None:
                session_id = link.session_id
            else:
                session_id = trace.session_id
                if (
                    session_id is None
                    or IngestConversation.objects.filter(session_id=session_id).exists()
                ):
                    session_id = self._start(span, {"conversation_id": conversation}, first)
                IngestConversation.objects.create(
                    key=key,
                    conversation_id=conversation,
                    session_id=session_id,
                    token=self.token,
                    created_at=now_iso(),
                )
            if trace.session_id is None:
                trace.session_id, self.timeline.changed = session_id, True
        self.sessions[conversation] = session_id
        return session_id

    def _start(self, span: ReadSpan, about: dict[str, Any], first: Message) -> str:
        session = RuntimeMemoryStore.start_session(
            storable(span.service or self.token.name),
            channel="api",
            metadata={"otlp": about | {"source": self.token.name, "resource": span.resource}},
            started_at=iso(first.time_ns),
        )
        self.counts[session.pk], self.last[session.pk] = Counter(), ""
        return session.pk

    def _counts(self, session_id: str) -> Counter:
        if session_id not in self.counts:
            rows = (
                IngestMessage.objects.filter(session_id=session_id)
                .values_list("fingerprint")
                .annotate(n=Count("*"))
                .order_by()
            )
            self.counts[session_id] = Counter(dict(rows))
            latest = Turn.objects.filter(session_id=session_id).aggregate(t=Max("created_at"))
            self.last[session_id] = latest["t"] or ""
        return self.counts[session_id]

    def _append(self, session_id: str, span: ReadSpan, message: Message, step) -> None:
        created_at = iso(message.time_ns)
        otlp: dict[str, Any] = {
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "source": message.source,
        }
        if step is not None:
            otlp |= {"workflow_run_id": step.workflow_run_id, "step_id": step.pk}
        if created_at < self.last[session_id]:
            otlp["arrived_late"] = True
        metadata: dict[str, Any] = {"otlp": otlp, **message.metadata()}
        token_count = None
        if message.phase == OUTPUT:
            if span.usage:
                metadata["usage"] = span.usage
            model = next((span.attributes[k] for k in MODEL_KEYS if span.attributes.get(k)), None)
            if model is not None:
                metadata["model"] = model
            if len(span.outputs) == 1:
                # The output's own size; the input's tokens count the whole history sent,
                # so they stay in the usage beside it rather than in any one turn.
                token_count = span.usage.get("output_tokens")
        turn = RuntimeMemoryStore.append_turn(
            session_id,
            message.role,
            storable(message.content),
            token_count=token_count,
            metadata=metadata,
            created_at=created_at,
        )
        self.last[session_id] = max(self.last[session_id], created_at)
        self.fingerprints.append(
            IngestMessage(turn=turn, session_id=session_id, fingerprint=message.fingerprint)
        )
