"""Hypothesis over arbitrary attribute values and structures: every span is accepted or
rejected with a reason, never an exception; a rejected span leaves no row behind and an
accepted one is in the ledger; the same batch again writes nothing."""

import base64
import json

import pytest
from django.db import transaction
from hypothesis import event, given
from hypothesis import strategies as st

from memory_app.ingest.decode import JSON, decode
from memory_app.ingest.mapping import ingest
from memory_app.ingest.models import IngestSpan
from memory_app.models import TaskEvent, Turn, WorkflowStep
from tests.helpers import ingest_token, ingested_rows

pytestmark = pytest.mark.django_db

KEYS = [
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
    "gen_ai.conversation.id", "gen_ai.operation.name", "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.prompt.0.role", "gen_ai.prompt.0.content", "gen_ai.prompt.1.tool_calls.0.name",
    "gen_ai.completion.0.content", "gen_ai.completion.0.tool_calls.0.arguments",
    "ai.prompt.messages", "ai.prompt", "ai.response.text", "ai.response.toolCalls",
    "ai.usage.promptTokens", "session.id", "gen_ai.prompt", "gen_ai.completion",
    "traceloop.span.kind", "error.type", "http.method",
]  # fmt: skip
EVENTS = [
    "gen_ai.user.message", "gen_ai.assistant.message", "gen_ai.tool.message",
    "gen_ai.system.message", "gen_ai.choice", "gen_ai.client.inference.operation.details",
    "gen_ai.content.prompt", "exception", "ai.stream.firstChunk", "",
]  # fmt: skip
WORDS = [
    "role", "parts", "content", "type", "text", "tool_call", "tool_call_response", "tool-call",
    "tool-result", "tool_calls", "function", "name", "arguments", "id", "response", "result",
    "toolCallId", "toolName", "input", "output", "finish_reason", "tool_call_id", "user",
    "assistant", "system", "tool", "message", "prompt", "messages", "reasoning", "uri",
]  # fmt: skip

# JSON texts Python's json reads into values no column can hold: a lone surrogate, NaN.
ODD_JSON = [
    '[{"role": "user", "parts": [{"type": "text", "content": "a\\ud800"}]}]',
    '[{"role": "user", "parts": [{"type": "tool_call", "name": "f", "arguments": NaN}]}]',
    '[{"role": "user", "content": "\\udfff", "x": Infinity}]',
]
texts = (
    st.text(max_size=12)
    | st.sampled_from([*WORDS, "\x00", "²", " 7 ", *ODD_JSON])
    | st.from_regex(r"[0-9]{1,25}", fullmatch=True)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**64) | texts,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=14,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "tool", "system", "critic"]) | texts},
        optional={
            "parts": st.lists(
                st.fixed_dictionaries(
                    {"type": st.sampled_from(WORDS)},
                    optional={k: json_values for k in ("content", "id", "name", "arguments")},
                ),
                max_size=3,
            )
            | json_values,
            "content": json_values,
            "tool_calls": json_values,
        },
    ),
    max_size=4,
)


def json_text(draw_from) -> st.SearchStrategy[str]:
    return draw_from.map(lambda v: json.dumps(v, ensure_ascii=False))


any_values = st.recursive(
    st.builds(lambda s: {"stringValue": s}, texts | json_text(messages) | json_text(json_values))
    | st.builds(lambda i: {"intValue": str(i)}, st.integers(-(2**63), 2**63 - 1))
    | st.builds(lambda b: {"boolValue": b}, st.booleans())
    | st.builds(
        lambda d: {"doubleValue": d},
        st.floats(allow_nan=False, allow_infinity=False)
        | st.sampled_from(["NaN", "Infinity", "-Infinity"]),
    )
    | st.builds(lambda b: {"bytesValue": base64.b64encode(b).decode()}, st.binary(max_size=4))
    | st.just({}),
    lambda inner: (
        st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3))
        | st.builds(
            lambda kv: {"kvlistValue": {"values": [{"key": k, "value": v} for k, v in kv.items()]}},
            st.dictionaries(st.sampled_from(WORDS), inner, max_size=3),
        )
    ),
    max_leaves=8,
)
attribute_lists = st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=8), any_values, max_size=6
).map(lambda d: [{"key": k, "value": v} for k, v in d.items()])
TRACES = ["4bf92f3577b34da6a3ce929d0e0e4736", "5bf92f3577b34da6a3ce929d0e0e4736"]
SERVICE = {"stringValue": "svc"}
STARTS = ["1765011600000000000", "1765011601000000000", "1765011601000000000"]
span_ids = st.sampled_from(["00f067aa0ba902b7", "00f067aa0ba902b8", "00f067aa0ba902b9", ""])
spans = st.fixed_dictionaries(
    {
        "traceId": st.sampled_from([TRACES[0], TRACES[0], TRACES[1], ""]),
        "spanId": span_ids,
        "parentSpanId": span_ids,
        "name": texts,
        "kind": st.integers(0, 6),
        "startTimeUnixNano": st.sampled_from(["0", *STARTS]),
        "endTimeUnixNano": st.sampled_from(["0", "1765011602000000000", "18446744073709551615"]),
        "attributes": attribute_lists,
        "events": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(EVENTS),
                    "timeUnixNano": st.sampled_from(["0", "1765011600500000000"]),
                    "attributes": st.dictionaries(
                        st.sampled_from(["gen_ai.event.content", "content", "role", "message",
                                         "exception.message", "gen_ai.input.messages"]),
                        any_values, max_size=3,
                    ).map(lambda d: [{"key": k, "value": v} for k, v in d.items()]),
                }
            ),
            max_size=3,
        ),
        "status": st.fixed_dictionaries({"code": st.integers(0, 2), "message": texts}),
    }
)  # fmt: skip
requests = st.lists(spans, min_size=1, max_size=4).map(
    lambda s: {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": SERVICE}]},
                "scopeSpans": [{"scope": {"name": "hypothesis"}, "spans": s}],
            }
        ]
    }
)  # fmt: skip


def rows_of_span(trace_id: str, span_id: str) -> int:
    """Rows anywhere that say they came from this span."""
    written = IngestSpan.objects.filter(trace_id=trace_id, span_id=span_id).count()
    for model, column in ((WorkflowStep, "details_json"), (Turn, "metadata_json"),
                          (TaskEvent, "payload_json")):  # fmt: skip
        needle = f'"trace_id":"{trace_id}","span_id":"{span_id}"'
        written += model.objects.filter(**{f"{column}__contains": needle}).count()
    return written


@given(document=requests)
def test_any_span_is_taken_or_rejected_with_a_reason_and_nothing_is_half_written(document):
    request = decode(json.dumps(document).encode(), JSON)
    with transaction.atomic():
        token = ingest_token()
        outcome = ingest(request, token=token)
        total = len(document["resourceSpans"][0]["scopeSpans"][0]["spans"])
        assert outcome.accepted_spans + outcome.rejected_spans == total
        assert (outcome.rejected_spans > 0) <= bool(outcome.error_message)
        taken = {(s.trace_id, s.span_id) for s in IngestSpan.objects.all()}
        for span in request.resource_spans[0].scope_spans[0].spans:
            key = (span.trace_id.hex(), span.span_id.hex())
            if key not in taken and f"span {key[1]} of trace {key[0]}" in outcome.error_message:
                assert rows_of_span(*key) == 0, "a rejected span left rows behind"
        assert len(taken) <= outcome.accepted_spans
        event(f"turns written: {Turn.objects.exists()}, rejected: {outcome.rejected_spans > 0}")
        before = ingested_rows()
        again = ingest(request, token=token)
        assert again.rejected_spans == outcome.rejected_spans
        assert ingested_rows() == before
        transaction.set_rollback(True)
