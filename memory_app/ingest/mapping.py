"""OpenTelemetry GenAI spans onto the v1 tables: what ``/v1/traces`` does with a batch.

``ingest`` reads every span of an ``ExportTraceServiceRequest`` (``spans.read_span``, the
messages it carries ``messages.read_messages``), then takes the batch in trace by trace,
each trace in its own transaction: the spans the ledger (``IngestSpan``) has seen before
are skipped, so the same batch sent twice writes nothing twice; the others become the
trace's run and steps (``workflows.Timeline``) and their messages the turns of a session
(``transcripts.Transcripts``). Every row of v1 is written through ``RuntimeMemoryStore``.

A span that cannot be read is rejected with its reason and writes nothing; when the store
refuses what a trace's spans would write, the trace is taken again span by span, each in
its own transaction, and only the span the store refuses is rejected. The rest of the batch
is taken either way, and ``Outcome`` says what was rejected and why (OTLP's
``partial_success``). The mapping, as a table: docs/otlp.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DataError, transaction
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from memory_app.errors import StoreError
from memory_app.ingest.messages import read_messages
from memory_app.ingest.models import IngestSpan, IngestToken
from memory_app.ingest.spans import ReadSpan, Rejected, attributes, iso, read_span
from memory_app.ingest.transcripts import Transcripts
from memory_app.ingest.workflows import Timeline
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
    unmapped = 0
    for group in sorted(groups, key=lambda g: _started(g[0])):
        refused, left = _take(group, token)
        rejections += refused
        unmapped += left
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


def _take(group: list[ReadSpan], token: IngestToken) -> tuple[list[str], int]:
    """One trace's spans, in one transaction; span by span when the store refuses any.
    Returns the rejections and how many spans were only acknowledged."""
    try:
        with transaction.atomic():
            return [], _write(group, token)
    except (StoreError, DataError) as exc:
        if len(group) == 1:
            return [f"{group[0].label}: {_refusal(exc)}"], 0
    rejections, unmapped = [], 0
    for span in group:
        try:
            with transaction.atomic():
                unmapped += _write([span], token)
        except (StoreError, DataError) as exc:
            rejections.append(f"{span.label}: {_refusal(exc)}")
    return rejections, unmapped


def _refusal(exc: Exception) -> str:
    return f"the store refused it: {exc}".strip()


def _write(group: list[ReadSpan], token: IngestToken) -> int:
    """Write one trace's spans (sorted by start) not in the ledger yet; how many of them
    were only acknowledged (no AI instrumentation's attributes, in a trace with no run)."""
    trace_id = group[0].trace_id
    seen = set(
        IngestSpan.objects.filter(
            trace_id=trace_id, span_id__in=[s.span_id for s in group]
        ).values_list("span_id", flat=True)
    )
    fresh = []
    for span in group:
        if span.span_id not in seen:
            seen.add(span.span_id)
            fresh.append(span)
    if not fresh:
        return 0
    timeline = Timeline(trace_id, token)
    steps = {}
    if timeline.has_run or any(span.is_genai for span in fresh):
        first = next(span for span in fresh if span.is_genai or timeline.has_run)
        timeline.start_run(first, iso(fresh[0].start_ns))
        steps = {span.span_id: timeline.add(span) for span in fresh}
    turns = Transcripts(timeline, token).record(fresh, steps) if steps else {}
    timeline.save_trace()
    received_at = now_iso()
    IngestSpan.objects.bulk_create(
        IngestSpan(
            trace_id=trace_id,
            span_id=span.span_id,
            token=token,
            received_at=received_at,
            step=steps.get(span.span_id),
            turns=turns.get(span.span_id, 0),
        )
        for span in fresh
    )
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
