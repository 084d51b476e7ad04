"""POST /v1/traces as the OTLP/HTTP specification words it: both encodings, gzip, the size
limit (gzip bombs too), the response in the request's content type, google.rpc.Status on
every refusal, backpressure with Retry-After, and nothing written by a refused request."""

import gzip
import io
import json
import tracemalloc

import pytest
from django.db import OperationalError
from django.test import Client, override_settings
from django.urls import reverse
from google.rpc.status_pb2 import Status  # the real message, from googleapis-common-protos
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from memory_app.ingest import receiver
from memory_app.ingest.mapping import Outcome
from tests.helpers import (
    OTLP_JSON,
    PROTOBUF,
    genai_chat,
    ingested_rows,
    otlp_json,
    otlp_request,
    post_traces,
)

pytestmark = pytest.mark.django_db

ONE_CHAT = otlp_request(genai_chat("conv-http"))


def status_of(response) -> Status:
    """The google.rpc.Status a refusal carries, read in the response's own content type."""
    if response["Content-Type"] == PROTOBUF:
        return Status.FromString(response.content)
    assert response["Content-Type"] == OTLP_JSON
    data = json.loads(response.content)
    return Status(code=data.get("code", 0), message=data.get("message", ""))


# --- success -----------------------------------------------------------------------------


def test_a_protobuf_batch_is_written_and_answered_in_protobuf(client, issued_token):
    before = ingested_rows()
    response = post_traces(client, ONE_CHAT.SerializeToString(), issued_token[1])
    assert response.status_code == 200
    assert response["Content-Type"] == PROTOBUF
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert not answer.HasField("partial_success")  # the specification: unset on full success
    assert ingested_rows() != before


def test_a_json_batch_with_hex_ids_is_written_and_answered_in_json(client, issued_token):
    before = ingested_rows()
    response = post_traces(client, otlp_json(ONE_CHAT), issued_token[1], OTLP_JSON)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == OTLP_JSON
    assert json.loads(response.content) == {}
    assert ingested_rows() != before


def test_content_types_are_read_without_case_or_parameters(client, issued_token):
    for kind in ("Application/X-Protobuf", "application/x-protobuf; proto=otlp"):
        response = post_traces(client, ONE_CHAT.SerializeToString(), issued_token[1], kind)
        assert response.status_code == 200
        assert response["Content-Type"] == PROTOBUF
    response = post_traces(
        client, otlp_json(ONE_CHAT), issued_token[1], "application/json; charset=utf-8"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == OTLP_JSON


def test_an_empty_request_is_a_success(client, issued_token):
    before = ingested_rows()
    assert post_traces(client, b"", issued_token[1]).status_code == 200
    assert post_traces(client, b"{}", issued_token[1], OTLP_JSON).status_code == 200
    assert ingested_rows() == before


def test_rejected_spans_are_a_partial_success_in_the_request_type(
    client, issued_token, monkeypatch
):
    monkeypatch.setattr(receiver, "ingest", lambda request, token: Outcome(1, 2, "two had no id"))
    answer = post_traces(client, ONE_CHAT.SerializeToString(), issued_token[1])
    assert answer.status_code == 200
    partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
    assert (partial.rejected_spans, partial.error_message) == (2, "two had no id")
    answer = post_traces(client, otlp_json(ONE_CHAT), issued_token[1], OTLP_JSON)
    assert json.loads(answer.content) == {
        "partialSuccess": {"rejectedSpans": "2", "errorMessage": "two had no id"}
    }


def test_a_warning_without_rejections_is_still_said(client, issued_token, monkeypatch):
    monkeypatch.setattr(receiver, "ingest", lambda request, token: Outcome(1, 0, "truncated"))
    answer = post_traces(client, ONE_CHAT.SerializeToString(), issued_token[1])
    partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
    assert (partial.rejected_spans, partial.error_message) == (0, "truncated")


def test_the_receiver_sets_no_cookie_and_needs_no_csrf_token(issued_token):
    client = Client(enforce_csrf_checks=True)
    response = post_traces(client, ONE_CHAT.SerializeToString(), issued_token[1])
    assert response.status_code == 200
    assert not response.cookies


# --- encodings and size -------------------------------------------------------------------


def test_a_gzipped_body_is_inflated(client, issued_token):
    body = gzip.compress(ONE_CHAT.SerializeToString())
    response = post_traces(client, body, issued_token[1], Content_Encoding="gzip")
    assert response.status_code == 200
    body = gzip.compress(otlp_json(ONE_CHAT))
    response = post_traces(client, body, issued_token[1], OTLP_JSON, Content_Encoding="GZIP")
    assert response.status_code == 200


def test_several_gzip_members_are_one_body(client, issued_token):
    raw = ONE_CHAT.SerializeToString()
    body = gzip.compress(raw[:10]) + gzip.compress(raw[10:])
    assert post_traces(client, body, issued_token[1], Content_Encoding="gzip").status_code == 200


@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd", "gzip, gzip", "compress"])
def test_other_content_encodings_are_415(client, issued_token, encoding):
    before = ingested_rows()
    body = gzip.compress(ONE_CHAT.SerializeToString())
    response = post_traces(client, body, issued_token[1], Content_Encoding=encoding)
    assert response.status_code == 415
    assert "gzip" in status_of(response).message
    assert ingested_rows() == before


@pytest.mark.parametrize(
    "body",
    [b"not gzip at all", gzip.compress(b"x" * 100)[:-6], gzip.compress(b"x") + b"trailing"],
    ids=["not-gzip", "truncated", "trailing-garbage"],
)
def test_broken_gzip_is_400(client, issued_token, body):
    response = post_traces(client, body, issued_token[1], Content_Encoding="gzip")
    assert response.status_code == 400
    assert "gzip" in status_of(response).message


@pytest.mark.parametrize(
    "kind", ["text/plain", "application/grpc", "application/protobuf", "multipart/form-data", ""]
)
def test_other_content_types_are_415_in_json(client, issued_token, kind):
    before = ingested_rows()
    response = post_traces(client, ONE_CHAT.SerializeToString(), issued_token[1], kind)
    assert response.status_code == 415
    assert response["Content-Type"] == OTLP_JSON  # neither of the two: the readable one
    assert "application/x-protobuf" in status_of(response).message
    assert ingested_rows() == before


@override_settings(TOM_INGEST_MAX_BYTES=2000)
def test_a_body_over_the_limit_is_413_and_writes_nothing(client, issued_token):
    big = otlp_request(*(genai_chat(f"c{n}", span=n + 1) for n in range(20))).SerializeToString()
    assert len(big) > 2000
    before = ingested_rows()
    response = post_traces(client, big, issued_token[1])
    assert response.status_code == 413
    assert "TOM_INGEST_MAX_BYTES" in status_of(response).message
    assert ingested_rows() == before


@override_settings(TOM_INGEST_MAX_BYTES=2000)
def test_a_body_at_the_limit_passes(client, issued_token):
    body = ONE_CHAT.SerializeToString()
    with override_settings(TOM_INGEST_MAX_BYTES=len(body)):
        assert post_traces(client, body, issued_token[1]).status_code == 200
        inflates_to_limit = gzip.compress(body)
        response = post_traces(client, inflates_to_limit, issued_token[1], Content_Encoding="gzip")
        assert response.status_code == 200


def test_a_gzip_bomb_stops_inflating_at_the_limit(client, issued_token):
    bomb = gzip.compress(b"\0" * 64_000_000, compresslevel=9)  # 64 MB from ~62 KB
    limit = 1_000_000
    with override_settings(TOM_INGEST_MAX_BYTES=limit):
        tracemalloc.start()
        try:
            response = post_traces(client, bomb, issued_token[1], Content_Encoding="gzip")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert response.status_code == 413
    assert "inflated" in status_of(response).message
    assert peak < 10 * limit  # the limit, the body and overheads; never the 64 MB


def test_a_declared_length_over_the_limit_is_413_before_reading(client, issued_token):
    with override_settings(TOM_INGEST_MAX_BYTES=100):
        response = post_traces(client, b"", issued_token[1], environ={"CONTENT_LENGTH": "1000000"})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b"\xff\xff\xff", PROTOBUF), (b"{not json", OTLP_JSON), (b"[1, 2]", OTLP_JSON)],
    ids=["protobuf", "json", "json-array"],
)
def test_undecodable_bodies_are_400_with_a_status_in_their_type(client, issued_token, body, kind):
    before = ingested_rows()
    response = post_traces(client, body, issued_token[1], kind)
    assert response.status_code == 400
    assert response["Content-Type"] == kind
    status = status_of(response)
    assert status.code == 3  # INVALID_ARGUMENT
    assert "ExportTraceServiceRequest" in status.message
    assert ingested_rows() == before


# --- methods ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "options", "head"])
def test_only_post_is_accepted(client, issued_token, method):
    response = getattr(client, method)(
        "/v1/traces", headers={"Authorization": f"Bearer {issued_token[1]}"}
    )
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    if method != "head":
        assert "POST" in status_of(response).message


def test_the_path_is_exactly_v1_traces(client, issued_token):
    assert reverse("memory_app:otlp_traces") == "/v1/traces"
    assert post_traces(client, b"", issued_token[1]).status_code == 200
    # Exporters post to the path as the specification spells it; a slash is no endpoint.
    assert client.post("/v1/traces/", b"", content_type=PROTOBUF).status_code == 404


# --- backpressure and a busy database ------------------------------------------------------


@override_settings(TOM_INGEST_CONCURRENCY=1)
def test_past_the_concurrent_ingests_a_request_is_429_with_retry_after(client, issued_token):
    before = ingested_rows()
    with receiver.ADMISSION.slot() as admitted:  # another batch is being taken in
        assert admitted
        response = post_traces(client, ONE_CHAT.SerializeToString(), issued_token[1])
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert status_of(response).code == 8  # RESOURCE_EXHAUSTED
    assert ingested_rows() == before
    # Its place given back, the next request is taken in.
    assert post_traces(client, ONE_CHAT.SerializeToString(), issued_token[1]).status_code == 200


@override_settings(TOM_INGEST_CONCURRENCY=1)
def test_a_refused_or_failed_ingest_gives_its_place_back(client, issued_token, monkeypatch):
    assert post_traces(client, b"\xff", issued_token[1]).status_code == 400
    monkeypatch.setattr(receiver, "ingest", lambda request, token: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        post_traces(client, ONE_CHAT.SerializeToString(), issued_token[1])
    assert receiver.ADMISSION.running == 0


@pytest.mark.parametrize(
    "error", ["database is locked", "could not serialize access", "deadlock detected"]
)
def test_a_busy_database_is_503_with_retry_after_never_500(
    client, issued_token, monkeypatch, error
):
    def busy(request, token):
        raise OperationalError(error)

    monkeypatch.setattr(receiver, "ingest", busy)
    response = post_traces(client, otlp_json(ONE_CHAT), issued_token[1], OTLP_JSON)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == OTLP_JSON
    assert status_of(response).code == 14  # UNAVAILABLE


def test_a_batch_failing_midway_is_sent_again_and_written_once(client, issued_token, monkeypatch):
    """The database gives out after the first trace was taken: 503; the exporter sends the
    batch again, which takes the rest and writes nothing twice."""
    two_traces = otlp_request(
        genai_chat("conv-a", question="first?", trace=1), genai_chat("conv-b", trace=2)
    )
    first_only = otlp_request(two_traces.resource_spans[0].scope_spans[0].spans[0])
    ingest = receiver.ingest

    def gives_out(request, token):
        ingest(first_only, token=token)
        raise OperationalError("database is locked")

    monkeypatch.setattr(receiver, "ingest", gives_out)
    body = two_traces.SerializeToString()
    assert post_traces(client, body, issued_token[1]).status_code == 503
    monkeypatch.setattr(receiver, "ingest", ingest)
    partly = ingested_rows()
    assert post_traces(client, body, issued_token[1]).status_code == 200
    whole = ingested_rows()
    assert post_traces(client, body, issued_token[1]).status_code == 200
    assert ingested_rows() == whole
    assert len(whole["sessions"]) == len(partly["sessions"]) + 1


# --- chunked bodies -----------------------------------------------------------------------


def chunked(body: bytes) -> dict:
    """A request as gunicorn hands over a chunked body: no length, the body de-chunked and
    ended (``wsgi.input_terminated``)."""
    return {"CONTENT_LENGTH": "", "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True}


def test_a_chunked_body_is_read_to_its_end(client, issued_token):
    before = ingested_rows()
    body = gzip.compress(otlp_json(ONE_CHAT))
    response = post_traces(
        client, body, issued_token[1], OTLP_JSON, Content_Encoding="gzip", environ=chunked(body)
    )
    assert response.status_code == 200
    assert ingested_rows() != before


def test_a_chunked_body_over_the_limit_is_413(client, issued_token):
    body = ONE_CHAT.SerializeToString()
    with override_settings(TOM_INGEST_MAX_BYTES=len(body) - 1):
        response = post_traces(client, body, issued_token[1], environ=chunked(body))
    assert response.status_code == 413


def test_a_body_without_a_length_to_a_server_that_cannot_end_it_is_411(client, issued_token):
    """Django's development server hands over a chunked body as no body at all: the answer
    says so, and has no stated length, so that server closes the connection instead of
    reading the chunks as the next request."""
    body = ONE_CHAT.SerializeToString()
    response = post_traces(client, body, issued_token[1], environ={"CONTENT_LENGTH": ""})
    assert response.status_code == 411
    assert response.streaming
    assert "Content-Length" not in response
    status = Status.FromString(b"".join(response.streaming_content))
    assert "gunicorn" in status.message
