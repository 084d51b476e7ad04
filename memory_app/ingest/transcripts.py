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
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Max

from memory_app import writing
from memory_app.ids import new_id
from memory_app.ingest.messages import OUTPUT, Message
from memory_app.ingest.models import IngestConversation, IngestMessage, IngestToken
from memory_app.ingest.spans import ReadSpan, iso
from memory_app.ingest.workflows import Rows, Timeline, chunks, storable
from memory_app.runtime.models import Turn
from memory_app.timeutil import now_iso

MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "ai.response.model", "ai.model.id")


class Conversations:
    """What the traces of one batch share of the sessions their messages go to, read for
    the whole batch at once: the session of each conversation its spans name, which
    sessions a conversation holds already, and each session's fingerprints and latest turn;
    and the rows it adds to the ingest tables for them, written by ``save``."""

    def __init__(self, spans: Iterable[ReadSpan], trace_sessions: set[str]) -> None:
        named = {span.conversation_id for span in spans if span.conversation_id}
        self.links: dict[str, str] = {}  # conversation key -> session id
        for keys in chunks([IngestConversation.key_of(c) for c in named]):
            self.links |= dict(
                IngestConversation.objects.filter(pk__in=keys).values_list("key", "session")
            )
        # Sessions a conversation holds: a trace's own session is not taken on by another.
        self.linked = set(self.links.values())
        for ids in chunks(trace_sessions - self.linked):
            self.linked |= set(
                IngestConversation.objects.filter(session__in=ids).values_list("session", flat=True)
            )
        known = set(self.links.values()) | trace_sessions
        self.counts: dict[str, Counter] = {pk: Counter() for pk in known}  # fingerprint -> n
        self.last: dict[str, str] = dict.fromkeys(known, "")  # the latest turn's created_at
        for ids in chunks(known):
            counted = IngestMessage.objects.filter(session__in=ids).values_list(
                "session", "fingerprint"
            )
            for session_id, fingerprint, n in counted.annotate(n=Count("*")).order_by():
                self.counts[session_id][fingerprint] = n
            latest = Turn.objects.filter(session__in=ids).values_list("session")
            self.last |= {pk: t or "" for pk, t in latest.annotate(t=Max("created_at")).order_by()}
        # Rows of the ingest tables, by column, for ``save``.
        self.new_links: list[dict[str, Any]] = []
        self.fingerprints: list[dict[str, Any]] = []

    def started(self, session_id: str) -> None:
        """A session the batch made: nothing in it yet."""
        self.counts[session_id], self.last[session_id] = Counter(), ""

    def link(self, conversation: str, session_id: str, token: IngestToken) -> None:
        key = IngestConversation.key_of(conversation)
        self.links[key] = session_id
        self.linked.add(session_id)
        self.new_links.append(
            {
                "key": key,
                "conversation_id": conversation,
                "session_id": session_id,
                "token_id": token.pk,
                "created_at": now_iso(),
            }
        )

    def save(self) -> None:
        writing.insert(IngestConversation, self.new_links, returning=False)
        writing.insert(IngestMessage, self.fingerprints, returning=False)


class Transcripts:
    """The sessions one trace's spans write their messages to."""

    def __init__(
        self, timeline: Timeline, token: IngestToken, shared: Conversations, rows: Rows
    ) -> None:
        self.timeline, self.token, self.shared, self.rows = timeline, token, shared, rows
        self.sessions: dict[str | None, str] = {}  # conversation id -> session id

    def record(self, spans: list[ReadSpan], steps: dict[str, str]) -> dict[str, int]:
        """The new messages of ``spans`` (sorted by start) as turns (``Rows``), ``steps``
        the step id of each span; how many turns each span added, by span id."""
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
            counts = self.shared.counts[session_id]
            if counts[message.fingerprint] >= occurrence:
                continue
            turn = self._turn(session_id, span, message, steps.get(span.span_id))
            self.rows.turns.append(turn)
            self.shared.fingerprints.append(
                {
                    "turn_id": turn["turn_id"],
                    "session_id": session_id,
                    "fingerprint": message.fingerprint,
                }
            )
            counts[message.fingerprint] += 1
            added[span.span_id] += 1
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
            session_id = self.shared.links.get(IngestConversation.key_of(conversation))
            if session_id is None:
                session_id = trace.session_id
                if session_id is None or session_id in self.shared.linked:
                    session_id = self._start(span, {"conversation_id": conversation}, first)
                self.shared.link(conversation, session_id, self.token)
            if trace.session_id is None:
                trace.session_id, self.timeline.changed = session_id, True
        self.sessions[conversation] = session_id
        return session_id

    def _start(self, span: ReadSpan, about: dict[str, Any], first: Message) -> str:
        session_id = new_id()
        self.rows.sessions.append(
            {
                "actor": storable(span.service or self.token.name),
                "channel": "api",
                "metadata": {
                    "otlp": about | {"source": self.token.name, "resource": span.resource}
                },
                "started_at": iso(first.time_ns),
                "session_id": session_id,
            }
        )
        self.shared.started(session_id)
        return session_id

    def _turn(
        self, session_id: str, span: ReadSpan, message: Message, step_id: str | None
    ) -> dict[str, Any]:
        """The message as a turn's values (``append_turns_across``)."""
        created_at = iso(message.time_ns)
        otlp: dict[str, Any] = {
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "source": message.source,
        }
        if step_id is not None:
            otlp |= {"workflow_run_id": self.timeline.run_id, "step_id": step_id}
        last = self.shared.last
        if created_at < last[session_id]:
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
        last[session_id] = max(last[session_id], created_at)
        return {
            "session_id": session_id,
            "role": message.role,
            "content": storable(message.content),
            "token_count": token_count,
            "metadata": metadata,
            "created_at": created_at,
            "turn_id": new_id(),
        }
