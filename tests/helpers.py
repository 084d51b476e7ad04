"""The test suite's shared helpers, in one home: fixtures live in conftest.py, everything
else a test module shares (paths, processes, query plans, the engine, trigger surgery, the
store calls many tests make) lives here. No test module imports another test module."""

import base64
import functools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookiejar import CookieJar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from urllib.request import HTTPCookieProcessor, OpenerDirector, build_opener

import psycopg
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from memory_app.ingest.decode import JSON, decode
from memory_app.ingest.models import (
    IngestConversation,
    IngestMessage,
    IngestSpan,
    IngestToken,
    IngestTrace,
)
from memory_app.models import Session, TaskEvent, Turn, WorkflowRun, WorkflowStep

# The engine this run tests: DATABASE_URL selects PostgreSQL, as in the settings.
ENGINE = "postgresql" if os.environ.get("DATABASE_URL", "").strip() else "sqlite"


# Every user a test makes logs in with this password.
PASSWORD = "pw-for-tests-only"


class QuickHasher(PBKDF2PasswordHasher):
    """PBKDF2 at one iteration, for test users only: at the production count every user a
    test makes, and every sign-in, costs half a second of the suite's ten minutes. Its
    hashes are ordinary ``pbkdf2_sha256`` ones (the count is in the hash), so a server in
    another process checks them with the production hashers."""

    iterations = 1


# The moment every test starts at, whatever day the suite runs on: no test reads the wall
# clock (test_toolchain.py checks the sources). TOM_TEST_NOW runs the suite at another day.
TEST_NOW = os.environ.get("TOM_TEST_NOW", "2026-12-06T09:00:00.000Z")


def days_ahead(clock, days: int) -> str:
    """The day ``days`` after the test clock's, as a date: a start the stores take as the
    future on whatever day TEST_NOW is."""
    return (clock() + timedelta(days=days)).date().isoformat()


def start_together() -> str:
    """A moment 3 s ahead that processes started now wait for, so they write at once: on
    the machine's monotonic clock, which every process shares (not a date)."""
    return str(time.monotonic() + 3)


REPO = Path(__file__).resolve().parent.parent


def django_env(db_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a separate Django process on its own database file (or on the
    PostgreSQL database ``DATABASE_URL`` in ``extra`` names)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "tommemory.settings",
        "DJANGO_SECRET_KEY": "insecure-key-for-the-test-suite-only",
        "TOM_RUNTIME_DB": str(db_path),
        "PYTHONPATH": str(REPO),
    }
    return env | extra


@functools.cache
def typescript_node() -> str:
    """The Node the TypeScript store runs on (scripts/find-node; make test set it up)."""
    found = subprocess.run(
        [str(REPO / "scripts" / "find-node")], capture_output=True, text=True, check=False
    )
    if found.returncode:
        pytest.fail(found.stderr)
    return found.stdout.strip()


def manage(db_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run manage.py in a separate process against db_path."""
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        env=django_env(db_path, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def query_plan(sql: str, *, sorts_priced_out: bool = False) -> list[str]:
    """The plan of a query, a line per step: SQLite's EXPLAIN QUERY PLAN details, or
    PostgreSQL's EXPLAIN with sequential scans priced out (tables in tests are tiny, so a
    scan left in the plan means no index could serve), and full sorts too when asked (a
    tiny table is sorted sooner than read in an index's order: a Sort left in the plan
    means no index gives that order)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")
            if sorts_priced_out:
                cursor.execute("SET enable_sort = off")
            try:
                cursor.execute("EXPLAIN " + sql)
                return [row[0].strip() for row in cursor.fetchall()]
            finally:
                cursor.execute("RESET enable_seqscan")
                cursor.execute("RESET enable_sort")
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return [row[-1] for row in cursor.fetchall()]


def table_scans(plan: list[str]) -> list[str]:
    """The steps of a plan that read a whole table."""
    if connection.vendor == "postgresql":
        return [step for step in plan if "Seq Scan" in step]
    return [step for step in plan if step.startswith("SCAN")]


def full_sorts(plan: list[str]) -> list[str]:
    """The steps of a plan that sort every row they read: SQLite's temporary B-tree, a
    PostgreSQL Sort. Not PostgreSQL's Incremental Sort, which orders rows an index gives
    in its leading keys' order only among rows sharing them."""
    if connection.vendor == "postgresql":
        return [step for step in plan if re.match(r"(->\s+)?Sort\s+\(", step)]
    return [step for step in plan if "TEMP B-TREE" in step]


def drop_trigger(name: str) -> None:
    """Drop one of our triggers, as a hostile writer of the database could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # see audit_triggers_lifted
            cursor.execute(
                "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = %s", [name]
            )
            (table,) = cursor.fetchone()
            cursor.execute(f'DROP TRIGGER "{name}" ON {table}')
        else:
            cursor.execute(f'DROP TRIGGER "{name}"')


# A validated low-risk proposal 'p' as another writer would store it (for SharedDatabase).
VALIDATED_PROPOSAL = """
INSERT INTO skills_learned (id, skill_key, description, source_type, confidence, learned_at)
    VALUES ('sk', 'k', 'd', 'doc', 0.5, '2026-01-01T00:00:00.000Z');
INSERT INTO skill_to_logic_proposals (id, skill_id, proposed_by, proposal_type, proposal_json,
    risk_level, status, created_at, updated_at) VALUES ('p', 'sk', 'oxide', 'code_patch', '{}',
    '{risk}', 'validated', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
INSERT INTO validation_results (id, proposal_id, validator, build_pass, lint_pass, test_pass,
    policy_pass, validated_at) VALUES ('v', 'p', 'ci', 1, 1, 1, 1, '2026-01-01T00:00:00.000Z')
"""


class SharedDatabase:
    """A migrated database of its own that separate processes share, on this run's engine:
    a copy of the migrated SQLite file, or a PostgreSQL database made from a migrated
    template. ``env`` runs a Django process on it; ``execute`` and ``executescript`` take
    SQL with ``?`` parameters on both engines."""

    def __init__(self, target: str, env: dict[str, str], connect):
        # target: the file path or URL a RuntimeMemoryStore (either language) opens.
        self.target, self.env, self._connect = target, env, connect

    def execute(self, sql: str, params=()) -> list[tuple]:
        conn = self._connect()
        try:
            if ENGINE == "postgresql":
                sql = sql.replace("?", "%s")
            cursor = conn.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
            conn.commit()
            return rows
        finally:
            conn.close()

    def executescript(self, script: str) -> None:
        for statement in filter(str.strip, script.split(";")):
            self.execute(statement)


def postgresql_url(name: str) -> str:
    """The URL of another database on the PostgreSQL server DATABASE_URL names."""
    return urlsplit(os.environ["DATABASE_URL"].strip())._replace(path=f"/{name}").geturl()


def postgresql_admin(*statements: str) -> None:
    """Run statements (CREATE/DROP DATABASE) on the server's maintenance database."""
    with psycopg.connect(postgresql_url("postgres"), autocommit=True) as admin:
        for statement in statements:
            admin.execute(statement)


@contextmanager
def audit_triggers_lifted():
    """Lift the append-only triggers for test cleanup only, then put them back.

    The search triggers stay, so the search index keeps in sync with what is deleted.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Django's foreign keys are checked at commit; a table with checks pending
            # cannot be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                "WHERE NOT tgisinternal AND tgname != 'turn_positions_insert'"
            )
            triggers = cursor.fetchall()
            for table, name in triggers:
                cursor.execute(f'ALTER TABLE {table} DISABLE TRIGGER "{name}"')
            try:
                yield cursor
            finally:
                for table, name in triggers:
                    cursor.execute(f'ALTER TABLE {table} ENABLE TRIGGER "{name}"')
            return
        cursor.execute(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' "
            "AND name NOT LIKE 'turn_search%' AND name NOT LIKE 'turn_words%'"
        )
        triggers = cursor.fetchall()
        for name, _ in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        try:
            yield cursor
        finally:
            for _, sql in triggers:
                cursor.execute(sql)


def checkpoint(tmp_path, keys) -> Path:
    """A signed checkpoint of the decision log now (audit_checkpoint); its directory."""
    directory = tmp_path / "checkpoints"
    with override_settings(TOM_AUDIT_KEY=keys[0]):
        call_command("audit_checkpoint", "--dir", str(directory), stdout=StringIO())
    return directory


def add_validations(proposal_id: str, count: int, prefix: str = "raw") -> None:
    """``count`` validations of a proposal as another writer adds them, straight into the
    table, a millisecond apart from 2026-01-02: the next take-in logs them (a long log, fast)."""
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO validation_results (id, proposal_id, validator, validated_at) "
            "VALUES (%s, %s, 'ci', %s)",
            [
                (f"{prefix}-{n:07d}", proposal_id, f"2026-01-02T{n // 3_600_000:02d}:"
                 f"{n // 60_000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z")
                for n in range(count)
            ],
        )  # fmt: skip


# --- pages ---------------------------------------------------------------------------


def body(response) -> str:
    """A page's text, streamed or not."""
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def count_queries(client, url: str) -> int:
    """How many queries a page (answering 200) makes."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@contextmanager
def rows_fetched():
    """Count the rows every query made inside returns, as read through Django's cursors (the
    ORM's and raw SQL's): yields a list, one count per fetch, to sum after."""
    counts: list[int] = []
    originals = {name: CursorWrapper.__dict__.get(name) for name in (*FETCHES, "__iter__")}

    def counted(name):
        def fetch(self, *args):
            found = getattr(self.cursor, name)(*args)
            counts.append(int(found is not None) if name == "fetchone" else len(found))
            return found

        return fetch

    def each(self):
        for row in originals["__iter__"](self):
            counts.append(1)
            yield row

    for name in FETCHES:
        setattr(CursorWrapper, name, counted(name))
    CursorWrapper.__iter__ = each
    try:
        yield counts
    finally:
        for name, original in originals.items():
            if original is None:
                delattr(CursorWrapper, name)
            else:
                setattr(CursorWrapper, name, original)


FETCHES = ("fetchone", "fetchmany", "fetchall")


# --- governed writes -------------------------------------------------------------------


def validate(store, proposal, passed=True, at=None):
    """A CI validation of the proposal, passed (or not) in every check but tests."""
    return store.record_validation(
        proposal.id, validator="ci", build_pass=True, lint_pass=True, test_pass=passed,
        policy_pass=True, validated_at=at,
    )  # fmt: skip


def decide(store, proposal, who, kind, decision="approved", notes=None, **kw):
    """One approver's decision on the proposal, through the store."""
    return store.record_approval(
        proposal.id, approver=who, approval_type=kind, decision=decision, notes=notes, **kw
    )


# --- notifications ---------------------------------------------------------------------


class Receiver:
    """A webhook receiver on loopback: ``/ok`` answers 200, ``/fail`` 500, ``/slow`` waits
    two seconds first."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if self.path.startswith("/slow"):
                    time.sleep(2)
                received.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body,
                     "at": time.monotonic()}
                )  # fmt: skip
                code = 500 if self.path.startswith("/fail") else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"thanks" if code == 200 else b"try later")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def bodies(self, path: str) -> list[dict]:
        return [json.loads(r["body"]) for r in self.received if r["path"] == path]


# --- the OTLP ingest (memory_app.ingest) -----------------------------------------------

PAYLOADS = REPO / "tests" / "ingest" / "payloads"


def otlp_payload(name: str):
    """A span payload of tests/ingest/payloads (OTLP JSON, shaped as an SDK sends it),
    decoded as the receiver decodes it."""
    return decode((PAYLOADS / name).read_bytes(), JSON)


def ingest_token(name: str = "weather-agent prod"):
    token, _secret = IngestToken.objects.issue(name, source="tests", created_by="admin")
    return token


def ingested_rows() -> dict[str, list]:
    """Every row the mapping writes, table by table, for comparing before and after."""
    tables = [Session, Turn, WorkflowRun, WorkflowStep, TaskEvent, IngestSpan, IngestTrace,
              IngestConversation, IngestMessage]  # fmt: skip
    return {
        model._meta.db_table: sorted(map(repr, model.objects.order_by().values_list()))
        for model in tables
    }


# --- OTLP requests, and a server to send them to (the receiver's tests) ----------------

PROTOBUF, OTLP_JSON = "application/x-protobuf", "application/json"
# TEST_NOW in nanoseconds since 1970, as spans carry their times.
OTLP_NANOS = round(datetime.fromisoformat(TEST_NOW).timestamp() * 1000) * 1_000_000


def otlp_attributes(values: dict) -> list:
    """OTLP KeyValues of plain Python values (text, whole numbers, numbers, yes/no)."""

    def any_value(value) -> AnyValue:
        if isinstance(value, bool):
            return AnyValue(bool_value=value)
        if isinstance(value, int):
            return AnyValue(int_value=value)
        if isinstance(value, float):
            return AnyValue(double_value=value)
        return AnyValue(string_value=value)

    return [KeyValue(key=k, value=any_value(v)) for k, v in values.items()]


def otlp_span(name: str, attributes: dict, *, trace: int = 1, span: int = 1, parent: int = 0,
              start_s: float = 0, end_s: float = 1):  # fmt: skip
    """A span of trace ``trace``, ``start_s`` seconds after TEST_NOW."""
    return Span(
        trace_id=trace.to_bytes(16, "big"),
        span_id=span.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"",
        name=name,
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=OTLP_NANOS + int(start_s * 1e9),
        end_time_unix_nano=OTLP_NANOS + int(end_s * 1e9),
        attributes=otlp_attributes(attributes),
    )


def otlp_request(*spans, service: str = "support-agent"):
    """An ExportTraceServiceRequest carrying the spans, from one resource and scope."""
    request = ExportTraceServiceRequest()
    resource_spans = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    resource_spans.resource.attributes.extend(otlp_attributes({"service.name": service}))
    resource_spans.scope_spans[0].scope.name = "tests"
    request.resource_spans.append(resource_spans)
    return request


def genai_chat(conversation: str = "conv-1", *, question: str = "Where is my parcel?",
               answer: str = "It left the depot this morning.", trace: int = 1, span: int = 1,
               start_s: float = 0):  # fmt: skip
    """A chat span as the current GenAI semantic conventions shape it: a conversation, the
    messages in and out, the model and the token counts."""
    said = [{"role": "user", "parts": [{"type": "text", "content": question}]}]
    answered = [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": answer}],
            "finish_reason": "stop",
        }
    ]
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.conversation.id": conversation,
        "gen_ai.input.messages": json.dumps(said),
        "gen_ai.output.messages": json.dumps(answered),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 9,
    }
    return otlp_span(
        "chat gpt-4o", attributes, trace=trace, span=span, start_s=start_s, end_s=start_s + 1
    )


def otlp_json(request) -> bytes:
    """The request in OTLP's JSON encoding: the proto3 JSON mapping with trace and span ids
    in hex (not base64) and enums as numbers, as the JavaScript exporter sends it."""

    def hex_ids(node):
        if isinstance(node, dict):
            return {
                k: base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId")
                else hex_ids(v)
                for k, v in node.items()
            }  # fmt: skip
        if isinstance(node, list):
            return [hex_ids(v) for v in node]
        return node

    return json.dumps(hex_ids(MessageToDict(request, use_integers_for_enums=True))).encode()


def post_traces(
    client, body: bytes, secret: str | None, content_type: str = PROTOBUF, *,
    environ: dict | None = None, **headers: str,
):  # fmt: skip
    """POST /v1/traces as an exporter does: the body, its type, the token as a bearer;
    ``environ`` overrides what the server would put in the WSGI environment."""
    if secret is not None:
        headers.setdefault("Authorization", f"Bearer {secret}")
    # Given as they would arrive even for an empty body (the test client leaves both out).
    sent = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))} | (environ or {})
    return client.post("/v1/traces", body, content_type=content_type, headers=headers, **sent)


def free_port() -> int:
    """A loopback port no one listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class IngestServer:
    """The production server on a shared database, as an exporter and a reviewer meet it:
    its address, an ingest token's secret, the database, and a reviewer's sign-in."""

    base: str
    secret: str
    db: SharedDatabase
    reviewer: tuple[str, str]

    def signed_in(self) -> OpenerDirector:
        """An HTTP client signed in as the reviewer through the login form."""
        opener = build_opener(HTTPCookieProcessor(CookieJar()))
        page = opener.open(self.base + "/accounts/login/", timeout=30).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        username, password = self.reviewer
        form = {"username": username, "password": password, "csrfmiddlewaretoken": csrf}
        opener.open(self.base + "/accounts/login/", urlencode(form).encode(), timeout=30)
        return opener

    def page(self, path: str) -> str:
        """A page as the signed-in reviewer reads it (200, or HTTPError)."""
        return self.signed_in().open(self.base + path, timeout=30).read().decode()

    def otlp_env(self, **extra: str) -> dict[str, str]:
        """The environment an operator gives an instrumented application (docs: OTLP)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        return (
            env
            | {
                "OTEL_EXPORTER_OTLP_ENDPOINT": self.base,
                "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{self.secret}",
            }
            | extra
        )
