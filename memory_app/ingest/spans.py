"""OTLP spans read into plain values the mapping works with, or refused with a reason.

A span is read whole before anything is written: its ids, times, attributes (an
``AnyValue`` becomes the JSON value it stands for), events, links, status, the resource and
scope it came with, and the messages it carries (``messages.read_messages``). Whatever
cannot be read raises ``Rejected`` saying what, and the span writes nothing.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from memory_app.timeutil import format_iso

# An attribute's value nests at most this deep: JSON columns take 100 levels
# (``jsontext.MAX_DEPTH``) and a value sits a few levels down in the row's document.
MAX_VALUE_DEPTH = 64

KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}

# Attribute prefixes and event names that make a span one of an AI application's: the
# OpenTelemetry GenAI conventions, the Vercel AI SDK (ai.*), OpenLLMetry (traceloop.*,
# llm.*) and OpenInference (openinference.*, llm.*).
GENAI_PREFIXES = ("gen_ai.", "ai.", "llm.", "traceloop.", "openinference.")


class Rejected(ValueError):
    """A span the mapping will not take; the message says why (partial_success)."""


@dataclass
class Event:
    name: str
    time_ns: int
    attributes: dict[str, Any]
    dropped_attributes: int = 0

    @property
    def time(self) -> str:
        return iso(self.time_ns)


@dataclass
class ReadSpan:
    """One span as the mapping reads it."""

    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16
    parent_span_id: str  # 16, or "" for a root span
    name: str
    kind: str
    start_ns: int
    end_ns: int
    status_code: str
    status_message: str
    attributes: dict[str, Any]
    events: list[Event]
    links: list[dict[str, Any]]
    resource: dict[str, Any]
    scope: dict[str, Any]
    otlp: dict[str, Any]  # what else OTLP said of it: trace state, flags, dropped counts
    order: int = 0  # its place in the batch
    # Filled by messages.read_messages: what of it becomes turns.
    conversation_id: str | None = None
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    consumed: list[str] = field(default_factory=list)  # attribute keys and event names

    @property
    def start(self) -> str:
        return iso(self.start_ns)

    @property
    def end(self) -> str:
        return iso(self.end_ns)

    @property
    def label(self) -> str:
        """How an answer names the span: its id, trace and name."""
        return f"span {self.span_id or '?'} of trace {self.trace_id or '?'} ({self.name!r})"

    @property
    def is_genai(self) -> bool:
        return any(key.startswith(GENAI_PREFIXES) for key in self.attributes) or any(
            event.name.startswith("gen_ai.") for event in self.events
        )

    @property
    def failed(self) -> bool:
        return self.status_code == "ERROR"

    @property
    def service(self) -> str | None:
        name = self.resource.get("service.name")
        return name if isinstance(name, str) and name.strip() else None


def iso(nanos: int) -> str:
    """Unix nanoseconds as the canonical timestamp text (milliseconds, UTC)."""
    return format_iso(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanos // 1000))


def hex_id(raw: bytes, size: int, what: str, *, required: bool = True) -> str:
    """An id's bytes as lowercase hex; an empty or all-zero id is none (OTLP's "invalid")."""
    if not raw or not any(raw):
        if required:
            raise Rejected(f"it has no {what}")
        return ""
    if len(raw) != size:
        raise Rejected(f"its {what} is {len(raw)} bytes, not {size}")
    return raw.hex()


def value(any_value: AnyValue, where: str, depth: int = 0) -> Any:
    """The JSON value an ``AnyValue`` stands for: arrays as lists, key-value lists as
    objects, bytes as base64 text, a non-finite double as its name ("NaN", "Infinity")."""
    if depth > MAX_VALUE_DEPTH:
        raise Rejected(f"{where} is nested deeper than {MAX_VALUE_DEPTH} levels")
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "double_value":
        number = any_value.double_value
        if math.isfinite(number):
            return number
        return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
    if kind == "array_value":
        return [value(item, where, depth + 1) for item in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value(kv.value, where, depth + 1) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(any_value.bytes_value).decode("ascii")
    return getattr(any_value, kind)


def attributes(key_values, where: str) -> dict[str, Any]:
    return {kv.key: value(kv.value, f"{where} attribute {kv.key!r}") for kv in key_values}


def read_span(span: Span, resource: dict[str, Any], scope: dict[str, Any], order: int) -> ReadSpan:
    """The span as plain values; ``Rejected`` when its ids or times cannot be read."""
    trace_id = hex_id(span.trace_id, 16, "trace id")
    span_id = hex_id(span.span_id, 8, "span id")
    parent = hex_id(span.parent_span_id, 8, "parent span id", required=False)
    if span.start_time_unix_nano == 0:
        raise Rejected("it has no start time (startTimeUnixNano)")
    end_ns = span.end_time_unix_nano or span.start_time_unix_nano
    links = [
        {
            "trace_id": link.trace_id.hex(),
            "span_id": link.span_id.hex(),
            **({"trace_state": link.trace_state} if link.trace_state else {}),
            **({"attributes": attributes(link.attributes, "a link's")} if link.attributes else {}),
        }
        for link in span.links
    ]
    otlp = {
        key: found
        for key, found in (
            ("trace_state", span.trace_state),
            ("flags", span.flags),
            ("dropped_attributes_count", span.dropped_attributes_count),
            ("dropped_events_count", span.dropped_events_count),
            ("dropped_links_count", span.dropped_links_count),
        )
        if found
    }
    return ReadSpan(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=span.name,
        kind=KINDS.get(span.kind, str(span.kind)),
        start_ns=span.start_time_unix_nano,
        end_ns=end_ns,
        status_code=STATUS_CODES.get(span.status.code, str(span.status.code)),
        status_message=span.status.message,
        attributes=attributes(span.attributes, "its"),
        events=[
            Event(
                name=event.name,
                time_ns=event.time_unix_nano or span.start_time_unix_nano,
                attributes=attributes(event.attributes, f"event {event.name!r}"),
                dropped_attributes=event.dropped_attributes_count,
            )
            for event in span.events
        ],
        links=links,
        resource=resource,
        scope=scope,
        otlp=otlp,
        order=order,
    )
