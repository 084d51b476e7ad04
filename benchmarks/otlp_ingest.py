"""OTLP ingest: GenAI spans per second taken in through POST /v1/traces while the dashboard
serves reads, on SQLite or PostgreSQL.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/otlp_ingest.py [--spans 40000] [--senders 4] [--batch 256]
    scripts/with-postgres .venv/bin/python benchmarks/otlp_ingest.py --postgresql

A database of its own (a SQLite file, or the PostgreSQL database DATABASE_URL names with
--postgresql), migrated and seeded with demo data (seed_demo --sessions 300 --turns 20
--runs 60), served by the production command (gunicorn: --workers workers of --threads
threads; one thread is docs/production.md's sync worker). --senders threads post prebuilt
batches of --batch spans as the OpenTelemetry SDK's batch processor sends them (binary
protobuf; gzipped with --gzip), each batch conversations of four spans: invoke_agent, a
chat asking for a tool, execute_tool, a chat answering (the GenAI semantic conventions);
meanwhile --readers signed-in threads load the overview, the session and workflow lists,
and transcripts and timelines. Reported: spans per second (accepted spans over the time
from the first post to the last answer), batch latency, 429/503 answers, "database is
locked" in the server's log, reads per second with their latency and errors, and whether
every accepted span is in the ledger afterwards.
"""

import argparse
import gzip
import http.client
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, prepare, signed_in_opener, timed, wait_for

BIN = Path(sys.executable).parent
SEED = ["--sessions", "300", "--turns", "20", "--runs", "60", "--skills", "10"]
SPANS_PER_CONVERSATION = 4


def kv(values: dict) -> list[KeyValue]:
    def value(v):
        return AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=v)

    return [KeyValue(key=k, value=value(v)) for k, v in values.items()]


def conversation(sender: int, number: int, start_ns: int) -> list[Span]:
    """Four spans of one agent turn: invoke_agent over a chat that asks for a tool, the
    tool, and a chat that answers; in a trace of their own, under a conversation id."""
    trace_id = random.Random(f"{sender}-{number}").randbytes(16)
    conv = f"bench-{sender}-{number}"
    question = f"Where is parcel {number} of sender {sender}? It was due on Tuesday."
    call = {
        "type": "tool_call",
        "id": f"call_{number}",
        "name": "track_parcel",
        "arguments": {"parcel": number},
    }
    user = {"role": "user", "parts": [{"type": "text", "content": question}]}
    asks = {"role": "assistant", "parts": [call], "finish_reason": "tool_call"}
    tool = {
        "role": "tool",
        "parts": [
            {
                "type": "tool_call_response",
                "id": f"call_{number}",
                "response": {"status": "in transit", "depot": "Lyon"},
            }
        ],
    }
    answer = {
        "role": "assistant",
        "parts": [
            {
                "type": "text",
                "content": f"Parcel {number} is at the Lyon depot; it arrives tomorrow.",
            }
        ],
        "finish_reason": "stop",
    }
    common = {"gen_ai.conversation.id": conv, "gen_ai.provider.name": "openai"}
    chat = common | {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
    }

    def span(n, parent, name, attributes, offset_ms, length_ms):
        return Span(
            trace_id=trace_id,
            span_id=(number * 8 + n + 1).to_bytes(8, "big"),
            parent_span_id=parent.to_bytes(8, "big") if parent else b"",
            name=name,
            kind=Span.SPAN_KIND_CLIENT if "chat" in name else Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start_ns + offset_ms * 1_000_000,
            end_time_unix_nano=start_ns + (offset_ms + length_ms) * 1_000_000,
            attributes=kv(attributes),
        )

    root = number * 8 + 1
    return [
        span(
            0,
            0,
            "invoke_agent parcel-agent",
            common | {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "parcel-agent"},
            0,
            900,
        ),
        span(
            1,
            root,
            "chat gpt-4o",
            chat
            | {
                "gen_ai.input.messages": json.dumps([user]),
                "gen_ai.output.messages": json.dumps([asks]),
            },
            10,
            300,
        ),
        span(
            2,
            root,
            "execute_tool track_parcel",
            common
            | {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "track_parcel",
                "gen_ai.tool.call.id": f"call_{number}",
                "gen_ai.tool.call.arguments": json.dumps(call["arguments"]),
            },
            320,
            80,
        ),
        span(
            3,
            root,
            "chat gpt-4o",
            chat
            | {
                "gen_ai.input.messages": json.dumps([user, asks, tool]),
                "gen_ai.output.messages": json.dumps([answer]),
            },
            410,
            480,
        ),
    ]


def batches(sender: int, count: int, spans_each: int, zipped: bool) -> list[bytes]:
    """Serialized ExportTraceServiceRequests, every conversation new."""
    per_batch = max(1, spans_each // SPANS_PER_CONVERSATION)
    start_ns = time.time_ns() - 3600 * 10**9
    made = []
    for b in range(count):
        spans = []
        for c in range(per_batch):
            number = b * per_batch + c
            spans += conversation(sender, number, start_ns + number * 1_000_000_000)
        request = ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(
                    resource={"attributes": kv({"service.name": "parcel-agent"})},
                    scope_spans=[ScopeSpans(scope={"name": "bench"}, spans=spans)],
                )
            ]
        )
        body = request.SerializeToString()
        made.append(gzip.compress(body) if zipped else body)
    return made


def sender(port, secret, bodies, zipped, results, lock) -> None:
    """Post each body in turn on one kept-alive connection, retrying after 429/503 as an
    exporter does (Retry-After)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {secret}"}
    if zipped:
        headers["Content-Encoding"] = "gzip"
    for body in bodies:
        while True:
            started = time.perf_counter()
            connection.request("POST", "/v1/traces", body, headers)
            response = connection.getresponse()
            answer = response.read()
            took = time.perf_counter() - started
            with lock:
                results["status"][response.status] = results["status"].get(response.status, 0) + 1
            if response.status in (429, 503):
                time.sleep(float(response.getheader("Retry-After") or 1))
                continue
            if response.status != 200:
                with lock:
                    results["errors"].append(f"{response.status}: {answer[:200]!r}")
                break
            partial = ExportTraceServiceResponse.FromString(answer).partial_success
            with lock:
                results["latencies"].append(took)
                results["rejected"] += partial.rejected_spans
                if partial.error_message:
                    results["messages"].add(partial.error_message[:200])
            break


def reader(base, opener, paths, stop, results) -> None:
    rng = random.Random(base)
    while not stop.is_set():
        path = rng.choice(paths)
        try:
            results.append((timed(opener, base + path), None))
        except Exception as exc:  # counted as an error
            results.append((None, f"{path}: {exc}"))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def query(env: dict, sql: str) -> list[tuple]:
    if env.get("DATABASE_URL"):
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as conn:
            return conn.execute(sql).fetchall()
    with sqlite3.connect(env["TOM_RUNTIME_DB"]) as conn:
        return conn.execute(sql).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=40_000, help="spans in all")
    parser.add_argument("--batch", type=int, default=256, help="spans a request")
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads a worker")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--postgresql", action="store_true", help="DATABASE_URL's database")
    parser.add_argument("--port", type=int, default=8761)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ["DATABASE_URL"] if args.postgresql else None
        env = prepare(Path(tmp) / "ingest.sqlite", url)
        manage = [sys.executable, str(REPO / "manage.py")]
        subprocess.run(
            [*manage, "seed_demo", *SEED], env=env, check=True, stdout=subprocess.DEVNULL
        )
        secret = subprocess.run(
            [
                *manage,
                "shell",
                "-v0",
                "-c",
                "from memory_app.ingest.models import IngestToken;"
                "print(IngestToken.objects.issue('bench', source='bench', created_by='bench')[1])",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        engine = "PostgreSQL" if url else "SQLite"
        per_sender = max(1, args.spans // args.batch // args.senders)
        bodies = [batches(s, per_sender, args.batch, args.gzip) for s in range(args.senders)]
        total = sum(len(b) for b in bodies) * (args.batch // SPANS_PER_CONVERSATION) * 4
        log = Path(tmp) / "server.log"
        with log.open("w") as log_file:
            server = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "tommemory.wsgi",
                    "-w",
                    str(args.workers),
                    "--threads",
                    str(args.threads),
                    "-b",
                    f"127.0.0.1:{args.port}",
                ],
                env=env,
                cwd=REPO,
                stderr=log_file,
                stdout=log_file,
            )
            try:
                run(args, env, secret, bodies, total, engine, log)
            finally:
                server.terminate()
                server.wait(timeout=30)


def run(args, env, secret, bodies, total, engine, log: Path) -> None:
    base = f"http://127.0.0.1:{args.port}"
    wait_for(base + "/accounts/login/")
    sessions = [r[0] for r in query(env, "SELECT id FROM sessions ORDER BY id LIMIT 40")]
    runs = [r[0] for r in query(env, "SELECT id FROM workflow_runs ORDER BY id LIMIT 20")]
    paths = ["/", "/sessions/", "/workflows/", "/activity/"]
    paths += [f"/sessions/{s}/" for s in sessions] + [f"/workflows/{r}/" for r in runs]
    openers = [signed_in_opener(base) for _ in range(args.readers)]  # before the clock
    results = {"status": {}, "errors": [], "latencies": [], "rejected": 0, "messages": set()}
    reads: list = []
    lock, stop = threading.Lock(), threading.Event()
    readers = [threading.Thread(target=reader, args=(base, o, paths, stop, reads)) for o in openers]
    senders = [
        threading.Thread(target=sender, args=(args.port, secret, b, args.gzip, results, lock))
        for b in bodies
    ]
    for t in readers:
        t.start()
    started = time.perf_counter()
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    elapsed = time.perf_counter() - started
    stop.set()
    for t in readers:
        t.join()
    accepted = (
        total - results["rejected"] - sum(args.batch for e in results["errors"])
    )  # a refused batch took none of its spans
    ledger = query(env, "SELECT COUNT(*) FROM tommemory_ingest_spans")[0][0]
    locked = log.read_text().count("database is locked")
    latencies = results["latencies"]
    read_times = [r[0] for r in reads if r[0] is not None]
    read_errors = [r[1] for r in reads if r[1] is not None]
    print(
        f"OTLP ingest on {engine}: {total:,} spans in {sum(len(b) for b in bodies)} batches of "
        f"{args.batch} from {args.senders} senders, gunicorn -w {args.workers} "
        f"--threads {args.threads}, "
        f"{args.readers} readers, {'gzip' if args.gzip else 'uncompressed'} protobuf"
    )
    print(
        f"  ingest: {accepted / elapsed:,.0f} spans/s ({accepted:,} accepted in "
        f"{elapsed:.1f} s), batch p50 {percentile(latencies, 50) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 95) * 1000:.0f} ms"
    )
    print(
        f"  answers: {dict(sorted(results['status'].items()))}, refused batches "
        f"{len(results['errors'])}, rejected spans {results['rejected']}, "
        f"'database is locked' in the server log {locked}"
    )
    print(
        f"  reads: {len(read_times)} ({len(read_times) / elapsed:.1f}/s), p50 "
        f"{percentile(read_times, 50) * 1000:.0f} ms, p95 "
        f"{percentile(read_times, 95) * 1000:.0f} ms, errors {len(read_errors)}"
    )
    print(f"  ledger: {ledger:,} spans taken in (accepted {accepted:,})")
    for problem in sorted(set(results["errors"]))[:5] + sorted(set(read_errors))[:5]:
        print("  !", problem)
    for message in sorted(results["messages"])[:5]:
        print("  partial success:", message)


if __name__ == "__main__":
    main()
