"""An OTLP/HTTP trace export's body read into the OpenTelemetry project's own message class.

Binary protobuf (``application/x-protobuf``) is parsed by ``ParseFromString``. JSON
(``application/json``) follows the OTLP specification's JSON Protobuf Encoding
(opentelemetry-proto, docs/specification.md): protobuf's JSON mapping with lowerCamelCase
keys, unknown fields ignored, enums as integers (names are read too), 64-bit integers as
numbers or decimal strings, and one deviation this module undoes before the mapping reads
it: ``traceId``, ``spanId`` and ``parentSpanId`` (of spans and their links) are
case-insensitive HEX strings, not base64. Some exporters send protobuf's own JSON mapping
instead, base64 ids: an id that is not a hex id of its size but is base64 of the right
number of bytes is read as that (the two never look alike: 16 bytes are 32 hex digits or
24 base64 characters).

Whatever the body holds, ``decode`` answers a message or raises ``Undecodable`` saying what
is wrong (the receiver's 400); never another exception.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

# The id fields the OTLP JSON encoding writes in hex, and their sizes in bytes. Both
# spellings of a key: protobuf's JSON parser takes the original field names too.
_SPAN_IDS = {
    "traceId": 16,
    "trace_id": 16,
    "spanId": 8,
    "span_id": 8,
    "parentSpanId": 8,
    "parent_span_id": 8,
}
_LINK_IDS = {"traceId": 16, "trace_id": 16, "spanId": 8, "span_id": 8}


class Undecodable(ValueError):
    """The body is not an ExportTraceServiceRequest in the named encoding; the message says
    why, for the 400's Status."""


def decode(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    """The export request ``body`` holds (already gunzipped and within the size limit)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == PROTOBUF:
        return _from_protobuf(body)
    if media == JSON:
        return _from_json(body)
    raise Undecodable(f"content type must be {PROTOBUF} or {JSON}; got {content_type!r}")


def _from_protobuf(body: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(bytes(body))
    # DecodeError as a rule; the parser's other refusals (a nesting past its limit,
    # invalid UTF-8 in a string field) are bad bodies too, never a server error.
    except Exception as exc:
        raise Undecodable(f"not a protobuf ExportTraceServiceRequest: {exc}") from None
    return request


def _from_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        document = json.loads(bytes(body).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Undecodable(f"the JSON body is not UTF-8: {exc}") from None
    except ValueError as exc:
        raise Undecodable(f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise Undecodable("the JSON body is nested too deeply") from None
    if not isinstance(document, dict):
        raise Undecodable(
            f"the JSON body must be an object (an ExportTraceServiceRequest); "
            f"got {type(document).__name__}"
        )
    _ids_to_base64(document)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    # ParseError as a rule; a value the parser trips over on its own (a nesting past its
    # limit, say) is a bad body too.
    except Exception as exc:
        raise Undecodable(f"not an OTLP JSON ExportTraceServiceRequest: {exc}") from None
    return request


def _ids_to_base64(document: dict) -> None:
    """Rewrite every span's and link's hex ids as the base64 protobuf's JSON parser reads,
    in place. Shapes that are not lists of objects are left for the parser to refuse."""
    resources = document.get("resourceSpans", document.get("resource_spans"))
    for r, resource_spans in _objects(resources):
        scopes = resource_spans.get("scopeSpans", resource_spans.get("scope_spans"))
        for s, scope_spans in _objects(scopes):
            for n, span in _objects(scope_spans.get("spans")):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]"
                _convert(span, _SPAN_IDS, where)
                for k, link in _objects(span.get("links")):
                    _convert(link, _LINK_IDS, f"{where}.links[{k}]")


def _objects(value: Any):
    if isinstance(value, list):
        yield from ((i, item) for i, item in enumerate(value) if isinstance(item, dict))


def _convert(holder: dict, fields: dict[str, int], where: str) -> None:
    for key, size in fields.items():
        if key in holder:
            holder[key] = _id_as_base64(holder[key], size, f"{where}.{key}")


def _id_as_base64(value: Any, size: int, where: str) -> str | None:
    """An id's bytes in base64: hex of ``size`` bytes, or already base64 of that many; the
    empty id (a root span's parent) stays empty. Anything else is undecodable."""
    if value is None or value == "":
        return value
    if not isinstance(value, str):
        raise Undecodable(f"{where} must be a hex string; got {type(value).__name__}")
    raw = _hex_bytes(value, size)
    if raw is None:
        raw = _base64_bytes(value, size)
    if raw is None:
        raise Undecodable(f"{where} must be {size * 2} hex digits; got {value[:80]!r}")
    return base64.b64encode(raw).decode("ascii")


def _hex_bytes(value: str, size: int) -> bytes | None:
    if len(value) != size * 2:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


def _base64_bytes(value: str, size: int) -> bytes | None:
    """Base64 (standard or URL-safe alphabet) of exactly ``size`` bytes, or None."""
    if len(value) > size * 2 or not value.isascii():
        return None
    try:
        raw = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None
