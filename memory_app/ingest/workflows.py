"""A trace as a workflow run: a step per span, events for what went wrong and what else
the span recorded. Every row is written through ``RuntimeMemoryStore``.

- The run: one per trace, made by the first of its spans an AI application's
  instrumentation wrote (``ReadSpan.is_genai``), named for the service that sent it
  (``service.name``, else the token's name), ``trigger_source`` ``agent``, initiated by the
  token's name; its ``context_json`` holds the trace id, the token and the resource's
  attributes. A root span (no parent) finishes it, ``failed`` when its status is ERROR.
- A step per span of the trace, in the order the spans were taken in (a batch's spans by
  start time), with the span's start and end; ``failed`` when its status is ERROR. Its
  ``details_json`` holds every attribute no turn holds, the span's kind, ids, scope, links
  and status, and the resource's attributes when they are not the run's.
- Events: the span's status ERROR and each ``exception`` event an ``error`` event at level
  ``high`` (v1 has no "error" level: ``high`` is the level an error is read at), with its
  message; every other span event not read as a message an ``info`` event at ``low``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from memory_app.base_models import Level
from memory_app.ingest.models import IngestToken, IngestTrace
from memory_app.ingest.spans import ReadSpan
from memory_app.jsontext import strict_json_object
from memory_app.runtime.models import (
    EventType,
    RunStatus,
    StepStatus,
    TriggerSource,
    WorkflowRun,
    WorkflowStep,
)
from memory_app.store import RuntimeMemoryStore
from memory_app.timeutil import now_iso

# The operations of the GenAI conventions and what other instrumentations call theirs: a
# step's details name the operation its span performed.
OPERATION_KEYS = ("gen_ai.operation.name", "traceloop.span.kind", "ai.operationId")


def storable(text: str) -> str:
    """Text any engine can hold: PostgreSQL refuses NUL in text, so it becomes U+FFFD (the
    original stays in the row's JSON, where it is escaped)."""
    return text.replace("\x00", "\ufffd")


def operation(span: ReadSpan) -> str | None:
    for key in OPERATION_KEYS:
        found = span.attributes.get(key)
        if isinstance(found, str) and found:
            return found
    return None


class Timeline:
    """The run of one trace and the steps and events its spans become."""

    def __init__(self, trace_id: str, token: IngestToken, found: IngestTrace | None) -> None:
        """``found``: the trace's row (its run selected with it), when a batch made one."""
        self.trace_id, self.token = trace_id, token
        # The trace's row as this batch leaves it, written once by the mapping (``changed``).
        self.trace = found or IngestTrace(trace_id=trace_id, token=token, created_at=now_iso())
        self.changed = False
        self.events: list[dict[str, Any]] = []  # task events' values (``add``)
        self.run: WorkflowRun | None = found.run if found is not None else None
        self.run_resource = self._resource_of(self.run)

    @property
    def has_run(self) -> bool:
        return self.run is not None

    def start_run(self, first: ReadSpan, started_at: str) -> WorkflowRun:
        """The trace's run, started at its earliest span known here."""
        if self.run is not None:
            return self.run
        self.run = RuntimeMemoryStore.start_workflow_run(
            storable(first.service or self.token.name),
            trigger_source=TriggerSource.AGENT,
            initiated_by=storable(self.token.name),
            context={
                "otlp": {
                    "trace_id": self.trace_id,
                    "source": self.token.name,
                    "resource": first.resource,
                }
            },
            started_at=started_at,
        )
        self.trace.run, self.changed = self.run, True
        self.run_resource = first.resource
        return self.run

    def add(self, spans: list[ReadSpan]) -> dict[str, WorkflowStep]:
        """The spans as the run's next steps, finished, by span id, and their events as
        ``events`` (the batch writes every trace's at once); the first root span (no
        parent) among them finishes the run, as the whole trace ends with it."""
        assert self.run is not None
        steps = RuntimeMemoryStore.add_steps(self.run.pk, [self._step(span) for span in spans])
        self.events = [
            event
            for span, step in zip(spans, steps, strict=True)
            for event in self._events(span, step)
        ]
        root = next((span for span in spans if not span.parent_span_id), None)
        if root is not None and self.run.status == RunStatus.RUNNING:
            self.run = RuntimeMemoryStore.finish_workflow_run(
                self.run.pk,
                status=RunStatus.FAILED if root.failed else RunStatus.SUCCEEDED,
                finished_at=root.end,
            )
        return {span.span_id: step for span, step in zip(spans, steps, strict=True)}

    def _step(self, span: ReadSpan) -> dict[str, Any]:
        """The span as a finished step's values (``add_steps``)."""
        name = span.name if span.name.strip() else (operation(span) or "span")
        return {
            "step_name": storable(name),
            "status": StepStatus.FAILED if span.failed else StepStatus.SUCCEEDED,
            "details": self._details(span),
            "started_at": span.start,
            "finished_at": span.end,
        }

    def _details(self, span: ReadSpan) -> dict[str, Any]:
        otlp: dict[str, Any] = {
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "kind": span.kind,
            "status": {"code": span.status_code}
            | ({"message": span.status_message} if span.status_message else {}),
            "scope": span.scope,
            "source": self.token.name,
            **span.otlp,
        }
        if span.parent_span_id:
            otlp["parent_span_id"] = span.parent_span_id
        if span.links:
            otlp["links"] = span.links
        if span.resource != self.run_resource:
            otlp["resource"] = span.resource
        details: dict[str, Any] = {"otlp": otlp}
        if (found := operation(span)) is not None:
            details["operation"] = found
        details["attributes"] = {
            key: found for key, found in span.attributes.items() if key not in span.consumed
        }
        if span.consumed:
            details["recorded_as_turns"] = span.consumed
        return details

    @staticmethod
    def _resource_of(run: WorkflowRun | None) -> Any:
        context = strict_json_object(run.context_json if run is not None else None)
        otlp = context.get("otlp")
        return otlp.get("resource") if isinstance(otlp, dict) else None

    def _events(self, span: ReadSpan, step: WorkflowStep) -> list[dict[str, Any]]:
        """The span's events and failure as task events' values (``add_events``)."""
        ids = {"trace_id": span.trace_id, "span_id": span.span_id}
        events = []
        for event in span.events:
            if event.name in span.consumed:
                continue
            payload = {"otlp": ids | {"event": event.name}, "attributes": event.attributes}
            if event.dropped_attributes:
                payload["otlp"]["dropped_attributes_count"] = event.dropped_attributes
            if event.name == "exception":
                kind = event.attributes.get("exception.type")
                message = event.attributes.get("exception.message")
                said = ": ".join(str(part) for part in (kind, message) if part) or "an exception"
                events.append(_event(EventType.ERROR, Level.HIGH, said, step, payload, event.time))
            else:
                said = event.name or "event"
                events.append(_event(EventType.INFO, Level.LOW, said, step, payload, event.time))
        if span.failed:
            error_type = span.attributes.get("error.type")
            said = (
                span.status_message
                or (str(error_type) if error_type else "")
                or (f"{span.name or 'the span'} failed")
            )
            payload = {"otlp": ids | {"status": "ERROR"}}
            if error_type is not None:
                payload["error.type"] = error_type
            events.append(_event(EventType.ERROR, Level.HIGH, said, step, payload, span.end))
        return events


def _event(kind: str, level: str, message: str, step, payload, created_at) -> dict[str, Any]:
    text = storable(message)
    return {
        "event_type": kind,
        "event_level": level,
        "message": text if text.strip() else "(no message)",
        "step_id": step.pk,
        "payload": payload,
        "created_at": created_at,
    }


def chunks[T](values: Iterable[T], size: int = 500) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size``: the ids one ``IN (...)`` of a batch's reads
    holds, well below SQLite's limit on parameters whatever the batch."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]
