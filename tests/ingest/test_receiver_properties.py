"""Hypothesis over what an exporter, a broken proxy or an attacker may post to /v1/traces:
GenAI-shaped spans with any values, bytes, JSON of any shape, gzip whole or cut, any
content type, encoding or token. Every answer is a 200 or a clear 4xx carrying its
google.rpc.Status (never a 5xx), and a request that is refused, or whose every span is
rejected, writes nothing."""

import gzip
import json

import pytest
from django.test import override_settings
from google.rpc.status_pb2 import Status
from hypothesis import event, given
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.proto.trace.v1.trace_pb2 import Status as SpanStatus

from tests.helpers import (
    OTLP_JSON,
    OTLP_NANOS,
    PROTOBUF,
    ingested_rows,
    otlp_json,
    otlp_request,
    post_traces,
)

pytestmark = pytest.mark.django_db

LIMIT = 3000  # small, so bodies over it (as sent or inflated) are drawn too

GENAI_KEYS = [
    "gen_ai.operation.name", "gen_ai.conversation.id", "gen_ai.input.messages",
    "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens", "gen_ai.agent.name", "gen_ai.agent.id", "gen_ai.tool.name",
    "gen_ai.tool.call.id", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
    "gen_ai.request.model", "gen_ai.response.model", "gen_ai.provider.name", "gen_ai.system",
    "gen_ai.prompt.0.role", "gen_ai.prompt.0.content", "gen_ai.completion.0.content",
    "error.type", "session.id", "user.id",
]  # fmt: skip
OPERATIONS = ["chat", "invoke_agent", "execute_tool", "create_agent", "text_completion", ""]
ROLES = ["user", "assistant", "system", "tool", "agent", ""]

texts = st.text(max_size=40)
part = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "content": texts}),
    st.fixed_dictionaries(
        {"type": st.just("tool_call"), "id": texts, "name": texts, "arguments": st.none() | texts}
    ),
    st.fixed_dictionaries({"type": st.just("tool_call_response"), "id": texts, "response": texts}),
    st.dictionaries(texts, texts, max_size=3),
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(ROLES) | texts, "parts": st.lists(part, max_size=3)}
    ),
    max_size=4,
).map(json.dumps)
scalars = st.one_of(
    texts.map(lambda v: AnyValue(string_value=v)),
    st.integers(-(2**63), 2**63 - 1).map(lambda v: AnyValue(int_value=v)),
    st.floats().map(lambda v: AnyValue(double_value=v)),
    st.booleans().map(lambda v: AnyValue(bool_value=v)),
    st.binary(max_size=20).map(lambda v: AnyValue(bytes_value=v)),
)
values = st.one_of(
    scalars,
    messages.map(lambda v: AnyValue(string_value=v)),
    st.sampled_from(OPERATIONS).map(lambda v: AnyValue(string_value=v)),
    st.lists(scalars, max_size=3).map(lambda v: AnyValue(array_value=ArrayValue(values=v))),
    st.just(AnyValue()),  # no value at all
)
attributes = st.lists(
    st.builds(KeyValue, key=st.sampled_from(GENAI_KEYS) | texts, value=values), max_size=8
)
ids = st.sampled_from([0, 1, 2, 3]).flatmap(
    lambda n: st.binary(min_size=0, max_size=17) if n == 0 else st.just(n.to_bytes(8, "big"))
)
times = st.integers(0, 2**64 - 1) | st.integers(0, 10**12).map(lambda s: OTLP_NANOS + s)
spans = st.builds(
    Span,
    trace_id=st.sampled_from([1, 2]).map(lambda n: n.to_bytes(16, "big")) | st.binary(max_size=17),
    span_id=ids,
    parent_span_id=ids,
    name=texts,
    kind=st.integers(0, 5),
    start_time_unix_nano=times,
    end_time_unix_nano=times,
    attributes=attributes,
    status=st.builds(SpanStatus, code=st.integers(0, 2), message=texts),
    events=st.lists(st.builds(Span.Event, name=texts, attributes=attributes), max_size=2),
)
requests = st.lists(spans, max_size=6).map(lambda s: otlp_request(*s))
json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


@st.composite
def bodies(draw, kinds=("protobuf", "json", "json-bent", "bytes", "json-any")):
    """A body, the content type it is meant as, and how many spans it carries (None when
    it is not a well-formed request)."""
    kind = draw(st.sampled_from(kinds))
    if kind in ("protobuf", "json", "json-bent"):
        request = draw(requests)
        count = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        if kind == "protobuf":
            return request.SerializeToString(), PROTOBUF, count
        if kind == "json":
            return otlp_json(request), OTLP_JSON, count
        document = json.loads(otlp_json(request))
        for span in document["resourceSpans"][0]["scopeSpans"][0].get("spans", []):
            key = draw(st.sampled_from(["traceId", "spanId", "name", "attributes", "kind"]))
            span[key] = draw(json_values)
        return json.dumps(document).encode(), OTLP_JSON, None
    if kind == "bytes":
        return draw(st.binary(max_size=300)), draw(st.sampled_from([PROTOBUF, OTLP_JSON])), None
    return json.dumps(draw(json_values)).encode(), OTLP_JSON, None


content_types = st.one_of(
    st.sampled_from([PROTOBUF, OTLP_JSON, "APPLICATION/JSON; charset=utf-8", "text/plain", ""]),
    st.text(max_size=30).filter(lambda t: "\n" not in t and "\r" not in t),
)
encodings = st.sampled_from([None, "gzip", "gzip-cut", "identity", "br", "GZip", "x"])
authorizations = st.sampled_from(["valid", "none", "unknown", "basic"])


def check(client, token, body, kind, encoding, auth) -> None:
    """Post the body as asked; the answer is a 200 or a clear 4xx in the request's type,
    and a refused request, or one whose every span is rejected, writes nothing."""
    raw, meant, span_count = body
    headers = {}
    if encoding and encoding.lower() in ("gzip", "gzip-cut"):
        raw = gzip.compress(raw)
        raw = raw[: len(raw) // 2] if encoding == "gzip-cut" else raw
        headers["Content-Encoding"] = "gzip" if encoding == "gzip-cut" else encoding
    elif encoding is not None:
        headers["Content-Encoding"] = encoding
    secret = {"valid": token[1], "none": None, "unknown": "tmi_" + "x" * 43, "basic": None}[auth]
    if auth == "basic":
        headers["Authorization"] = "Basic dXNlcjpwYXNz"
    before = ingested_rows()

    response = post_traces(client, raw, secret, kind or meant, **headers)

    status = response.status_code
    event(f"answered {status}")  # what the draws reach (--hypothesis-show-statistics)
    assert status in (200, 400, 401, 411, 413, 415), (status, response.content[:300])
    media = response["Content-Type"]
    assert media in (PROTOBUF, OTLP_JSON)
    if status != 200:
        assert ingested_rows() == before
        if media == PROTOBUF:
            said = Status.FromString(response.content).message
        else:
            said = json.loads(response.content)["message"]
        assert said  # a clear refusal says why
        return
    assert auth == "valid"
    if media == PROTOBUF:
        rejected = ExportTraceServiceResponse.FromString(response.content).partial_success
        rejected = rejected.rejected_spans
    else:
        partial = json.loads(response.content).get("partialSuccess", {})
        rejected = int(partial.get("rejectedSpans", 0))
    if span_count is not None:
        assert rejected <= span_count
        if rejected == span_count:  # every span rejected: nothing of them written
            assert ingested_rows() == before


@given(body=bodies(), kind=content_types, encoding=encodings, auth=authorizations)
@override_settings(TOM_INGEST_MAX_BYTES=LIMIT)
def test_any_request_is_answered_200_or_a_clear_4xx_and_never_half_written(
    client, issued_token, body, kind, encoding, auth
):
    check(client, issued_token, body, kind, encoding, auth)


@given(
    body=bodies(kinds=("protobuf", "json", "json-bent")),
    encoding=st.sampled_from([None, "gzip"]),
)
@override_settings(TOM_INGEST_MAX_BYTES=LIMIT * 10)
def test_any_genai_batch_a_token_sends_is_taken_in_or_refused_clearly(
    client, issued_token, body, encoding
):
    """What reaches the mapping: spans of any shape and value, as an exporter sends them."""
    check(client, issued_token, body, None, encoding, "valid")
