"""OTLP/HTTP on the wire: which encodings a request may use, its body read within the size
limit (compressed and while inflating), and the answers the specification asks for.

The specification (opentelemetry-specification, protocol/otlp.md, "OTLP/HTTP"): the body is
an ``ExportTraceServiceRequest`` as binary protobuf (``application/x-protobuf``) or as
JSON (``application/json``), optionally gzipped (``Content-Encoding: gzip``); the answer is
an ``ExportTraceServiceResponse`` in the request's own content type, and every 4xx/5xx
carries a ``google.rpc.Status`` in it.
"""

from __future__ import annotations

import zlib

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPES = (PROTOBUF, JSON)
CHUNK = 64 * 1024  # bytes read from a chunked body at a time

# google.rpc.Code: the specification lets a server omit Status.code; we send the one that
# names the failure, for whoever reads a client's log.
INVALID_ARGUMENT = 3
RESOURCE_EXHAUSTED = 8
UNIMPLEMENTED = 12
UNAVAILABLE = 14
UNAUTHENTICATED = 16


class Refusal(Exception):
    """A request answered with a 4xx or 5xx: its status, the Status message's text, and
    any headers the answer needs (Retry-After, WWW-Authenticate, Allow)."""

    def __init__(
        self, status: int, message: str, code: int = INVALID_ARGUMENT, *, close: bool = False,
        **headers: str,
    ) -> None:  # fmt: skip
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.code, self.close = status, message, code, close
        self.headers = {name.replace("_", "-"): value for name, value in headers.items()}


def _status_class():
    """google.rpc.Status, built by Google's protobuf runtime from its two fields (code 1,
    message 2; ``details`` 3 is left out, which the wire format allows).

    The class lives in a pool of its own: the message is not in opentelemetry-proto, and
    googleapis-common-protos (which has it) is only a dependency of the test's exporter;
    a private pool never clashes with that package's registration of the same name.
    """
    proto = descriptor_pb2.FileDescriptorProto(
        name="tommemory/google_rpc_status.proto", package="google.rpc", syntax="proto3"
    )
    message = proto.message_type.add(name="Status")
    optional = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    message.field.add(
        name="code", json_name="code", number=1, label=optional,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    )  # fmt: skip
    message.field.add(
        name="message", json_name="message", number=2, label=optional,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    )  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.Status"))


Status = _status_class()


def content_type(request: HttpRequest) -> str | None:
    """The request's media type when it is one OTLP/HTTP defines, else None (parameters
    such as ``charset`` are ignored; media types are case-insensitive)."""
    media = request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    return media if media in CONTENT_TYPES else None


def encoded(message, media: str) -> bytes:
    """A protobuf message in the media type: binary, or the proto3 JSON mapping (the
    specification's lowerCamelCase keys; 64-bit numbers as decimal strings)."""
    if media == PROTOBUF:
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode()


def refusal_response(refusal: Refusal, media: str | None) -> HttpResponseBase:
    """A 4xx/5xx with its google.rpc.Status, in the request's content type (JSON when the
    request had none of the two, so a person reading it sees words)."""
    media = media or JSON
    body = encoded(Status(code=refusal.code, message=refusal.message), media)
    if refusal.close:
        # A body left unread on the connection (a chunked one Django's development server
        # cannot read) would be taken for the next request: an answer of no stated length
        # makes that server close the connection after it (WSGI lets no app say "close").
        response = StreamingHttpResponse([body], status=refusal.status, content_type=media)
    else:
        response = HttpResponse(body, status=refusal.status, content_type=media)
    for name, value in refusal.headers.items():
        response[name] = value
    return response


def export_response(
    media: str, *, rejected_spans: int = 0, error_message: str = ""
) -> HttpResponse:
    """200 with an ExportTraceServiceResponse; ``partial_success`` set only when spans were
    rejected or there is something to say (the specification leaves it unset on full
    success)."""
    response = ExportTraceServiceResponse()
    if rejected_spans or error_message:
        response.partial_success.rejected_spans = rejected_spans
        response.partial_success.error_message = error_message
    return HttpResponse(encoded(response, media), content_type=media)


# --- the body -----------------------------------------------------------------------------


def too_large(limit: int, what: str) -> Refusal:
    return Refusal(
        413,
        f"the {what} is over this server's limit of {limit:,} bytes (TOM_INGEST_MAX_BYTES): "
        "send fewer spans a request (the batch span processor's max export batch size)",
        RESOURCE_EXHAUSTED,
    )


def gzip_encoded(request: HttpRequest) -> bool:
    """Whether the body is gzipped; any other Content-Encoding is refused (415)."""
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("", "identity"):
        return False
    if encoding == "gzip":
        return True
    raise Refusal(415, f"Content-Encoding {encoding!r} is not accepted: send gzip or nothing")


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The request's body, inflated when gzipped, never more than ``limit`` bytes either
    way (413), read straight from the stream (Django's own upload limit is for forms)."""
    compressed = gzip_encoded(request)
    declared = request.META.get("CONTENT_LENGTH", "").strip()
    if declared:
        data = read_declared(request, declared, limit)
    elif request.META.get("wsgi.input_terminated"):
        data = read_to_end(request.META["wsgi.input"], limit)
    else:
        raise Refusal(
            411, "a request body needs a Content-Length header, or Transfer-Encoding: chunked "
            "to a server that reads it (gunicorn does; Django's development server does not)",
            close=True,
        )  # fmt: skip
    return gunzip(data, limit) if compressed else data


def read_declared(request: HttpRequest, declared: str, limit: int) -> bytes:
    """A body of the length Content-Length gives, refused before a byte is read when that
    is over the limit."""
    if not declared.isdigit():
        raise Refusal(400, f"Content-Length is not a number of bytes: {declared[:40]!r}")
    length = int(declared)
    if length > limit:
        raise too_large(limit, "request body")
    data = request.read(length) if length else b""
    if len(data) != length:
        raise Refusal(400, f"the body ended after {len(data)} of {length} bytes")
    return data


def read_to_end(stream, limit: int) -> bytes:
    """A chunked body (the JavaScript exporter streams its bodies, with no length), which
    the server has de-chunked and ends (``wsgi.input_terminated``, as gunicorn sets it),
    read no further than one byte past the limit."""
    data = bytearray()
    while piece := stream.read(min(CHUNK, limit + 1 - len(data))):
        data += piece
        if len(data) > limit:
            raise too_large(limit, "request body")
    return bytes(data)


def gunzip(data: bytes, limit: int) -> bytes:
    """Inflate gzip members (one or several, as RFC 1952 allows) to at most ``limit``
    bytes: inflating stops as soon as the output passes it, so a small body that would
    inflate to gigabytes costs at most ``limit`` bytes of memory (413)."""
    out = bytearray()
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)  # a gzip header and trailer
    pending = data
    try:
        while True:
            piece = inflater.decompress(pending, limit + 1 - len(out))
            out += piece
            if len(out) > limit:
                raise too_large(limit, "inflated request body")
            if inflater.eof:
                pending = inflater.unused_data
                if not pending:
                    return bytes(out)
                inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
                continue
            pending = inflater.unconsumed_tail
            if not pending and not piece:
                raise Refusal(400, "the gzip body ends before its end (truncated)")
    except zlib.error as exc:
        raise Refusal(400, f"the body is not valid gzip: {exc}") from None
