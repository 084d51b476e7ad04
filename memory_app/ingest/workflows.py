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
from memory_app.ids import new_id
from memory_app.ingest.models import IngestToken, IngestTrace
from memory_app.ingest.spans import ReadSpan
from memory_app.jsontext import strict_json_object
from memory_app.runtime.models import (
    EventType,
    RunStatus,
    StepStatus,
    TriggerSource,
    WorkflowRun,
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


class Rows:
    """What a batch's traces write through the store, by kind, each a call's items: the
    mapping writes them kind by kind once every trace is read (``write``), so each kind is
    one call and one statement of many rows for the whole batch, and the search index takes
    all its turns at once. The rows name one another by the ids given them here."""

    def __init__(self) -> None:
        self.sessions: list[dict[str, Any]] = []  # start_sessions
        self.runs: list[dict[str, Any]] = []  # start_workflow_runs
        self.steps: list[dict[str, Any]] = []  # add_steps_across
        self.events: list[dict[str, Any]] = []  # add_events
        self.finished: list[dict[str, Any]] = []  # finish_workflow_runs
        self.turns: list[dict[str, Any]] = []  # append_turns_across

    def write(self) -> None:
        """In the order the rows name one another: a step its run, a turn its step."""
        RuntimeMemoryStore.start_sessions(self.sessions)
        RuntimeMemoryStore.start_workflow_runs(self.runs)
        RuntimeMemoryStore.add_steps_across(self.steps)
        RuntimeMemoryStore.add_events(self.events)
        RuntimeMemoryStore.finish_workflow_runs(self.finished)
        RuntimeMemoryStore.append_turns_across(self.turns)


class Timeline:
    """The run of one trace and the steps and events its spans become (``Rows``)."""

    def __init__(
        self, trace_id: str, token: IngestToken, found: IngestTrace | None, rows: Rows
    ) -> None:
        """``found``: the trace's row (its run selected with it), when a batch made one."""
        self.trace_id, self.token, self.rows = trace_id, token, rows
        # The trace's row as this batch leaves it, written once by the mapping (``changed``).
        self.trace = found or IngestTrace(trace_id=trace_id, token=token, created_at=now_iso())
        self.changed = False
        run: WorkflowRun | None = found.run if found is not None else None
        self.run_id = run.pk if run is not None else None
        self.running = run is not None and run.status == RunStatus.RUNNING
        self.run_resource = self._resource_of(run)

    @property
    def has_run(self) -> bool:
        return self.run_id is not None

    def start_run(self, first: ReadSpan, started_at: str) -> str:
        """The trace's run, started at its earliest span known here: its id."""
        if self.run_id is not None:
            return self.run_id
        self.run_id, self.running = new_id(), True
        self.rows.runs.append(
            {
                "workflow_name": storable(first.service or self.token.name),
                "trigger_source": TriggerSource.AGENT,
                "initiated_by": storable(self.token.name),
                "context": {
                    "otlp": {
                        "trace_id": self.trace_id,
                        "source": self.token.name,
                        "resource": first.resource,
                    }
                },
                "started_at": started_at,
                "run_id": self.run_id,
            }
        )
        self.trace.run_id, self.changed = self.run_id, True
        self.run_resource = first.resource
        return self.run_id

    def add(self, spans: list[ReadSpan]) -> dict[str, str]:
        """The spans as the run's next steps, finished, with their events; their step ids by
        span id. The first root span (no parent) among them finishes the run, as the whole
        trace ends with it."""
        assert self.run_id is not None
        steps = {span.span_id: new_id() for span in spans}
        for span in spans:
            self.rows.steps.append(self._step(span) | {"step_id": steps[span.span_id]})
            self.rows.events += self._events(span, steps[span.span_id])
        root = next((span for span in spans if not span.parent_span_id), None)
        if root is not None and self.running:
            self.rows.finished.append(
                {
                    "run_id": self.run_id,
                    "status": RunStatus.FAILED if root.failed else RunStatus.SUCCEEDED,
                    "finished_at": root.end,
                }
            )
            self.running = False
        return steps

    def _step(self, span: ReadSpan) -> dict[str, Any]:
        """The span as a finished step's values (``add_steps_across``)."""
        name = span.name if span.name.strip() else (operation(span) or "span")
        return {
            "run_id": self.run_id,
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

    def _events(self, span: ReadSpan, step_id: str) -> list[dict[str, Any]]:
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
                events.append(
                    _event(EventType.ERROR, Level.HIGH, said, step_id, payload, event.time)
                )
            else:
                said = event.name or "event"
                events.append(_event(EventType.INFO, Level.LOW, said, step_id, payload, event.time))
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
            events.append(_event(EventType.ERROR, Level.HIGH, said, step_id, payload, span.end))
        return events


def _event(kind: str, level: str, message: str, step_id, payload, created_at) -> dict[str, Any]:
    text = storable(message)
    return {
        "event_type": kind,
        "event_level": level,
        "message": text if text.strip() else "(no message)",
        "step_id": step_id,
        "payload": payload,
        "created_at": created_at,
    }


def chunks[T](values: Iterable[T], size: int = 500) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size``: the ids one ``IN (...)`` of a batch's reads
    holds, well below SQLite's limit on parameters whatever the batch."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]
