"""decode(): an OTLP/HTTP body, protobuf or JSON, read into ExportTraceServiceRequest; any
other body raises Undecodable with a reason, never another exception."""

import base64
import json

import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from memory_app.ingest.decode import JSON, PROTOBUF, Undecodable, decode

pytestmark = pytest.mark.engine_free

TRACE_HEX = "5B8EFFF798038103D269B633813FC60C"
SPAN_HEX = "EEE19B7EC3C1B174"
PARENT_HEX = "EEE19B7EC3C1B173"


def one_span_json(**span) -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]
                },
                "scopeSpans": [{"scope": {"name": "s"}, "spans": [span]}],
            }
        ]
    }


def the_span(request: ExportTraceServiceRequest):
    return request.resource_spans[0].scope_spans[0].spans[0]


def test_json_ids_are_read_as_hex_case_insensitively():
    body = one_span_json(
        traceId=TRACE_HEX,
        spanId=SPAN_HEX.lower(),
        parentSpanId=PARENT_HEX,
        name="chat",
        kind=3,
        startTimeUnixNano="1700000000000000000",
        endTimeUnixNano=1700000001000000000,
        links=[{"traceId": TRACE_HEX, "spanId": PARENT_HEX}],
    )
    span = the_span(decode(json.dumps(body).encode(), JSON))
    assert span.trace_id == bytes.fromhex(TRACE_HEX)
    assert span.span_id == bytes.fromhex(SPAN_HEX)
    assert span.parent_span_id == bytes.fromhex(PARENT_HEX)
    assert span.links[0].trace_id == bytes.fromhex(TRACE_HEX)
    assert span.kind == 3
    assert span.start_time_unix_nano == 1_700_000_000_000_000_000


def test_json_unknown_fields_are_ignored_and_a_charset_is_allowed():
    body = one_span_json(traceId=TRACE_HEX, spanId=SPAN_HEX, name="x", somethingNew={"a": 1})
    body["futureField"] = [1, 2]
    request = decode(json.dumps(body).encode(), "application/json; charset=utf-8")
    assert the_span(request).name == "x"


def test_base64_ids_from_protobufs_own_json_mapping_are_read_too():
    raw_trace, raw_span = bytes.fromhex(TRACE_HEX), bytes.fromhex(SPAN_HEX)
    body = one_span_json(
        traceId=base64.b64encode(raw_trace).decode(), spanId=base64.b64encode(raw_span).decode()
    )
    span = the_span(decode(json.dumps(body).encode(), JSON))
    assert (span.trace_id, span.span_id) == (raw_trace, raw_span)


def test_a_root_spans_empty_parent_stays_empty():
    span = the_span(
        decode(
            json.dumps(one_span_json(traceId=TRACE_HEX, spanId=SPAN_HEX, parentSpanId="")).encode(),
            JSON,
        )
    )
    assert span.parent_span_id == b""


def test_protobuf_bodies_are_parsed_by_the_projects_own_class():
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes.fromhex(TRACE_HEX), bytes.fromhex(SPAN_HEX), "p"
    assert decode(request.SerializeToString(), PROTOBUF) == request


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"\x0a\x05", PROTOBUF, "not a protobuf"),
        (b"{", JSON, "not JSON"),
        (b"\xff\xfe", JSON, "not UTF-8"),
        (b"[]", JSON, "must be an object"),
        (b'{"resourceSpans": 3}', JSON, "not an OTLP JSON"),
        (json.dumps(one_span_json(traceId="xyz", spanId=SPAN_HEX)).encode(), JSON, "32 hex digits"),
        (json.dumps(one_span_json(traceId=TRACE_HEX, spanId=7)).encode(), JSON, "hex string"),
        (
            json.dumps(one_span_json(traceId=TRACE_HEX, startTimeUnixNano="soon")).encode(),
            JSON,
            "not an OTLP",
        ),
        (b"{}", "text/plain", "content type"),
    ],
)
def test_a_bad_body_says_what_is_wrong(body, content_type, reason):
    with pytest.raises(Undecodable, match=reason):
        decode(body, content_type)


def hex_ids(document):
    """protobuf's JSON mapping of a request turned into OTLP's: ids in hex."""
    for resource in document.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                for holder in (span, *span.get("links", [])):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in holder:
                            holder[key] = base64.b64decode(holder[key]).hex()
    return document


ids = st.binary(min_size=16, max_size=16), st.binary(min_size=8, max_size=8)


@given(
    trace_id=ids[0],
    span_id=ids[1],
    name=st.text(),
    kind=st.integers(0, 5),
    start=st.integers(0, 2**64 - 1),
    attributes=st.dictionaries(st.text(max_size=20), st.text() | st.integers(-(2**63), 2**63 - 1)),
)
def test_json_and_protobuf_encodings_of_one_request_decode_alike(
    trace_id, span_id, name, kind, start, attributes
):
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name, span.kind = trace_id, span_id, name, kind
    span.start_time_unix_nano = start
    for key, value in attributes.items():
        attribute = span.attributes.add(key=key)
        if isinstance(value, str):
            attribute.value.string_value = value
        else:
            attribute.value.int_value = value
    as_json = json.dumps(hex_ids(json_format.MessageToDict(request))).encode()
    assert decode(as_json, JSON) == request
    assert decode(request.SerializeToString(), PROTOBUF) == request


KEYS = ["resourceSpans", "scopeSpans", "spans", "traceId", "spanId", "parentSpanId", "links",
        "attributes", "key", "value", "stringValue", "kind", "name", "x"]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)


def decoded_or_refused(body: bytes, content_type: str) -> str:
    """What decode made of a body: a request, or Undecodable's reason; anything else raises."""
    try:
        decode(body, content_type)
    except Undecodable as exc:
        return str(exc)
    return "decoded"


@given(body=st.binary(max_size=300), content_type=st.sampled_from([PROTOBUF, JSON]))
def test_any_bytes_decode_or_are_undecodable(body, content_type):
    assert decoded_or_refused(body, content_type)


@given(document=json_values)
def test_any_json_document_decodes_or_is_undecodable(document):
    try:
        body = json.dumps(document).encode()
    except ValueError:
        return
    assert decoded_or_refused(body, JSON)
