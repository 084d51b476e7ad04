"""OpenTelemetry GenAI spans onto the v1 tables: what ``/v1/traces`` does with a batch.

``ingest`` reads every span of an ``ExportTraceServiceRequest`` (``spans.read_span``, the
messages it carries ``messages.read_messages``), then takes the batch in, in one
transaction: the spans the ledger (``IngestSpan``) has seen before are skipped, so the same
batch sent twice writes nothing twice; the others become each trace's run and steps
(``workflows.Timeline``) and their messages the turns of a session
(``transcripts.Transcripts``). Every row of v1 is written through ``RuntimeMemoryStore``,
with its batch writers: the batch's rows are gathered by kind as its traces are read
(``workflows.Rows``) and each kind written in one call for the whole batch (its sessions,
runs, steps, events, finished runs, turns); what the ingest tables keep of the batch is
read and written once for all its traces (``_Batch``).

A span that cannot be read is rejected with its reason and writes nothing; when the store
refuses what the batch would write, it is taken again trace by trace, each in its own
transaction, and a trace the store refuses span by span, so only the span the store refuses
is rejected. The rest of the batch is taken either way, and ``Outcome`` says what was
rejected and why (OTLP's ``partial_success``). The mapping, as a table: docs/otlp.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import DataError, transaction
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from memory_app import writing
from memory_app.errors import StoreError
from memory_app.ingest.messages import read_messages
from memory_app.ingest.models import IngestSpan, IngestToken, IngestTrace
from memory_app.ingest.spans import ReadSpan, Rejected, attributes, iso, read_span
from memory_app.ingest.transcripts import Conversations, Transcripts
from memory_app.ingest.workflows import Rows, Timeline, chunks
from memory_app.timeutil import now_iso

# How many rejections an answer names one by one; the rest are counted.
NAMED_REJECTIONS = 10


@dataclass(frozen=True)
class Outcome:
    """What became of a batch: OTLP's ``partial_success`` is (rejected_spans,
    error_message); a message with nothing rejected is a warning."""

    accepted_spans: int
    rejected_spans: int
    error_message: str


def ingest(request: ExportTraceServiceRequest, *, token: IngestToken) -> Outcome:
    """Take in the batch's spans as the ingest token's source sent them."""
    spans, rejections, total = _read(request)
    by_trace: dict[str, list[ReadSpan]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    groups = [sorted(group, key=_started) for group in by_trace.values()]
    refused, unmapped = _take(sorted(groups, key=lambda g: _started(g[0])), token)
    rejections += refused
    return Outcome(
        accepted_spans=total - len(rejections),
        rejected_spans=len(rejections),
        error_message=_message(rejections, total, unmapped),
    )


def _started(span: ReadSpan) -> tuple[int, int]:
    return span.start_ns, span.order


def _read(request: ExportTraceServiceRequest) -> tuple[list[ReadSpan], list[str], int]:
    """Every span read, and the reasons of those that cannot be."""
    spans, rejections, order = [], [], 0
    for resource_spans in request.resource_spans:
        count = sum(len(s.spans) for s in resource_spans.scope_spans)
        try:
            resource = attributes(resource_spans.resource.attributes, "the resource's")
        except Rejected as exc:
            rejections += [f"{count} span(s) of one resource: {exc}"] * count
            order += count
            continue
        for scope_spans in resource_spans.scope_spans:
            scope = _scope(scope_spans, resource_spans.schema_url)
            for span in scope_spans.spans:
                try:
                    if isinstance(scope, Rejected):
                        raise scope
                    read = read_span(span, resource, scope, order)
                    read_messages(read)
                except Rejected as exc:
                    rejections.append(f"{_label(span)}: {exc}")
                else:
                    spans.append(read)
                order += 1
    return spans, rejections, order


def _scope(scope_spans, resource_schema: str) -> dict | Rejected:
    scope = scope_spans.scope
    try:
        found = {
            "name": scope.name,
            "version": scope.version,
            "attributes": attributes(scope.attributes, "the scope's"),
            "schema_url": scope_spans.schema_url or resource_schema,
        }
    except Rejected as exc:
        return exc
    return {key: value for key, value in found.items() if value}


def _label(span) -> str:
    return f"span {span.span_id.hex() or '?'} of trace {span.trace_id.hex() or '?'} ({span.name!r})"


def _take(traces: list[list[ReadSpan]], token: IngestToken) -> tuple[list[str], int]:
    """The traces' spans in one transaction; when the store refuses any, each trace in its
    own, and a refused trace's spans each in its own, so only what the store refuses is
    rejected. Returns the rejections and how many spans were only acknowledged."""
    try:
        with transaction.atomic():
            return [], _Batch(traces, token).write()
    except (StoreError, DataError) as exc:
        if len(traces) == 1 and len(traces[0]) == 1:
            return [f"{traces[0][0].label}: {_refusal(exc)}"], 0
    parts = [[trace] for trace in traces] if len(traces) > 1 else [[[s]] for s in traces[0]]
    rejections, unmapped = [], 0
    for part in parts:
        refused, left = _take(part, token)
        rejections += refused
        unmapped += left
    return rejections, unmapped


def _refusal(exc: Exception) -> str:
    return f"the store refused it: {exc}".strip()


class _Batch:
    """The traces one transaction takes in (each a list of spans sorted by start), and what
    the ingest tables hold of them, read for all of them at once: the spans the ledger has
    seen, the traces' rows, and their conversations (``transcripts.Conversations``). What
    the traces write is gathered by kind (``workflows.Rows``) and written once all are
    read, each kind in one call of the store's batch writers."""

    def __init__(self, traces: list[list[ReadSpan]], token: IngestToken) -> None:
        self.traces, self.token = traces, token
        ids = [trace[0].trace_id for trace in traces]
        self.seen: set[tuple[str, str]] = set()
        self.found: dict[str, IngestTrace] = {}
        for chunk in chunks(ids):
            self.seen |= set(
                IngestSpan.objects.filter(trace_id__in=chunk).values_list("trace_id", "span_id")
            )
            self.found |= {
                row.pk: row
                for row in IngestTrace.objects.filter(pk__in=chunk).select_related("run")
            }
        sessions = {row.session_id for row in self.found.values() if row.session_id}
        self.conversations = Conversations((s for t in traces for s in t), sessions)
        self.rows = Rows()
        self.changed: list[IngestTrace] = []
        self.ledger: list[dict[str, Any]] = []  # IngestSpan rows, by column

    def write(self) -> int:
        """Write every trace's spans not in the ledger yet; how many spans were only
        acknowledged (no AI instrumentation's attributes, in a trace with no run)."""
        unmapped = sum(self._trace(trace) for trace in self.traces)
        self.rows.write()
        self.conversations.save()
        for row in self.changed:
            if not row._state.adding:
                row.save()
        fields = IngestTrace._meta.concrete_fields
        writing.insert(
            IngestTrace,
            [
                {f.attname: getattr(row, f.attname) for f in fields}
                for row in self.changed
                if row._state.adding
            ],
            returning=False,
        )
        writing.insert(IngestSpan, self.ledger, returning=False)
        return unmapped

    def _trace(self, group: list[ReadSpan]) -> int:
        trace_id = group[0].trace_id
        fresh = []
        for span in group:
            if (trace_id, span.span_id) not in self.seen:
                self.seen.add((trace_id, span.span_id))
                fresh.append(span)
        if not fresh:
            return 0
        timeline = Timeline(trace_id, self.token, self.found.get(trace_id), self.rows)
        steps = {}
        if timeline.has_run or any(span.is_genai for span in fresh):
            first = next(span for span in fresh if span.is_genai or timeline.has_run)
            timeline.start_run(first, iso(fresh[0].start_ns))
            steps = timeline.add(fresh)
        turns = {}
        if steps:
            transcripts = Transcripts(timeline, self.token, self.conversations, self.rows)
            turns = transcripts.record(fresh, steps)
        if timeline.changed:
            self.changed.append(timeline.trace)
        received_at = now_iso()
        self.ledger += [
            {
                "trace_id": trace_id,
                "span_id": span.span_id,
                "token_id": self.token.pk,
                "received_at": received_at,
                "step_id": steps.get(span.span_id),
                "turns": turns.get(span.span_id, 0),
            }
            for span in fresh
        ]
        return 0 if steps else len(fresh)


def _message(rejections: list[str], total: int, unmapped: int) -> str:
    said = []
    if rejections:
        named = "; ".join(rejections[:NAMED_REJECTIONS])
        more = len(rejections) - NAMED_REJECTIONS
        said.append(
            f"rejected {len(rejections)} of {total} span(s): {named}"
            + (f"; and {more} more" if more > 0 else "")
        )
    if unmapped:
        said.append(
            f"{unmapped} span(s) carried no GenAI attributes (gen_ai.*, ai.*, llm.*, "
            "traceloop.*) in traces with none that do: acknowledged, not mapped"
        )
    return ". ".join(said)
