"""The receiver in the production server: a chunked body read to its end, and a database
another writer holds answered 503 with Retry-After (an exporter retries), never a 500,
with nothing written."""

import http.client
import json
import sqlite3
from urllib.parse import urlsplit

import pytest

from tests.helpers import OTLP_JSON, PROTOBUF, genai_chat, otlp_json, otlp_request

BODY = otlp_request(genai_chat("conv-server", question="Is the server up?"))


def post(server, body, content_type=PROTOBUF, *, chunks: int = 0) -> tuple[int, dict, bytes]:
    """POST /v1/traces; in ``chunks`` pieces with Transfer-Encoding: chunked when asked."""
    address = urlsplit(server.base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {server.secret}"}
    if chunks:
        size = -(-len(body) // chunks)
        pieces = (body[n : n + size] for n in range(0, len(body), size))
        connection.request("POST", "/v1/traces", pieces, headers, encode_chunked=True)
    else:
        connection.request("POST", "/v1/traces", body, headers)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def turns(server) -> int:
    return server.db.execute("SELECT COUNT(*) FROM conversation_turns")[0][0]


def test_a_chunked_body_is_read_to_its_end(ingest_server):
    status, headers, _ = post(ingest_server, otlp_json(BODY), OTLP_JSON, chunks=5)
    assert status == 200
    assert headers["Content-Type"] == OTLP_JSON
    assert turns(ingest_server) == 2  # the question and the answer


@pytest.mark.engine("sqlite")  # PostgreSQL has no database-wide write lock to hold
def test_a_locked_database_is_503_with_retry_after_and_nothing_written(ingest_server):
    other = sqlite3.connect(ingest_server.db.target, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the 2 s timeout
    try:
        status, headers, body = post(ingest_server, otlp_json(BODY), OTLP_JSON)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert status == 503
    assert headers["Retry-After"] == "5"
    assert "busy" in json.loads(body)["message"]
    assert turns(ingest_server) == 0
    # Sent again once the lock is gone, as the exporter does, the batch is taken in.
    assert post(ingest_server, otlp_json(BODY), OTLP_JSON)[0] == 200
    assert turns(ingest_server) == 2
