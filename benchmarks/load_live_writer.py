"""Readers and a live writer on one file, tommemory then Datasette: throughput, latency,
errors, then a crash.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/seed_million.py --keep benchmarks/out/million.sqlite
    .venv/bin/python benchmarks/load_live_writer.py --db benchmarks/out/million.sqlite

On a copy of the database: gunicorn (2 workers) serves the dashboard on loopback while
benchmarks/live_writer.py appends turns and task events through RuntimeMemoryStore at
--rate writes per second, and --clients reader threads request transcript, workflow
timeline and proposal pages for --seconds. Reported: reader throughput, p50/p95/p99
latency, HTTP errors, the writer's errors and "database is locked" count, and whether
every turn and event written is in the database afterwards. Then the same for Datasette
serving the same rows (its table pages: the session's turns, the run's events, the
proposal's approvals) under the same writer and clients. Then the fault case: a
writer is killed mid-transaction; the file must pass PRAGMA integrity_check, hold none
of that transaction's turns, and the dashboard must keep serving.
"""

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, prepare, signed_in_opener, start_gunicorn, timed, wait_for

HERE = Path(__file__).resolve().parent


def pick_targets(db: Path) -> dict:
    """Live sessions and a live run for the writer; pages for the readers."""
    with sqlite3.connect(db) as conn:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        live = [f"load-session-{n}" for n in range(4)]
        conn.executemany(
            "INSERT OR IGNORE INTO sessions (id, actor, channel, started_at) "
            "VALUES (?, 'tom', 'api', ?)",
            [(s, now) for s in live],
        )
        conn.execute(
            "INSERT OR IGNORE INTO workflow_runs (id, workflow_name, trigger_source, "
            "initiated_by, status, started_at) VALUES ('load-run', 'load', 'agent', 'bench', "
            "'running', ?)",
            (now,),
        )
        old = [r[0] for r in conn.execute("SELECT id FROM sessions ORDER BY random() LIMIT 50")]
        runs = [
            r[0] for r in conn.execute("SELECT id FROM workflow_runs ORDER BY random() LIMIT 20")
        ]
        proposals = [r[0] for r in conn.execute("SELECT id FROM skill_to_logic_proposals LIMIT 20")]
    return {"live": live, "old": old, "runs": [*runs, "load-run"], "proposals": proposals}


def tommemory_url(kind: str, row: str) -> str:
    q = urllib.parse.quote(row, safe="")
    return {
        "live": f"/sessions/{q}/",
        "old": f"/sessions/{q}/",
        "run": f"/workflows/{q}/",
        "proposal": f"/proposals/{q}/",
    }[kind]


def datasette_url(kind: str, row: str) -> str:
    """Datasette's table pages for the same rows (the database is named after its file)."""
    q = urllib.parse.quote(row, safe="")
    return {
        "live": f"/load/conversation_turns?session_id={q}&_sort=turn_index&_size=100",
        "old": f"/load/conversation_turns?session_id={q}&_sort=turn_index&_size=100",
        "run": f"/load/task_events?workflow_run_id={q}&_size=100",
        "proposal": f"/load/approvals?proposal_id={q}",
    }[kind]


def reader(base, url_for, opener, targets, deadline, results, seed) -> None:
    rng = random.Random(seed)
    pools = {"live": "live", "old": "old", "run": "runs", "proposal": "proposals"}
    while time.monotonic() < deadline:
        kind = rng.choice(list(pools))
        url = url_for(kind, rng.choice(targets[pools[kind]]))
        try:
            results.append((kind, timed(opener, base + url), None))
        except Exception as exc:  # counted as an error
            results.append((kind, None, str(exc)))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--port", type=int, default=8741)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.sqlite"
        shutil.copy(args.db, db)
        env = prepare(db)
        targets = pick_targets(db)
        print(
            f"load: {args.clients} reader threads, writer at {args.rate:.0f} writes/s, "
            f"{args.seconds:.0f} s each, database {args.db.stat().st_size / 1e6:,.0f} MB"
        )
        ours, theirs = args.port, args.port + 1
        servers = [
            start_gunicorn(env, ours),
            subprocess.Popen(
                [str(BIN / "datasette"), "serve", str(db), "-p", str(theirs), "-h", "127.0.0.1"],
                stderr=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            ),
        ]
        base = f"http://127.0.0.1:{ours}"
        try:
            wait_for(base + "/accounts/login/")
            wait_for(f"http://127.0.0.1:{theirs}/")
            # The same writer and clients, one server after the other, on the same file.
            phase("tommemory", base, tommemory_url, lambda: signed_in_opener(base), env,
                  targets, args, Path(tmp), db)  # fmt: skip
            phase("datasette", f"http://127.0.0.1:{theirs}", datasette_url,
                  urllib.request.build_opener, env, targets, args, Path(tmp), db)  # fmt: skip
            crash_case(env, db, base, targets["live"][0])
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)


def phase(label, base, url_for, make_opener, env, targets, args, tmp: Path, db: Path) -> None:
    """Readers on one server while the writer appends; what they and the writer saw."""
    report_file = tmp / f"writer-{label}.json"
    openers = [make_opener() for _ in range(args.clients)]  # signed in before the clock
    writer = subprocess.Popen(
        [
            sys.executable, str(HERE / "live_writer.py"), "load",
            "--sessions", ",".join(targets["live"]), "--run", "load-run",
            "--rate", str(args.rate), "--seconds", str(args.seconds), "--out", str(report_file),
        ],
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + args.seconds
    results: list = []
    threads = [
        threading.Thread(target=reader, args=(base, url_for, opener, targets, deadline, results, n))
        for n, opener in enumerate(openers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.wait(timeout=args.seconds + 120)
    written = json.loads(report_file.read_text())
    latencies = [r[1] for r in results if r[1] is not None]
    errors = [r[2] for r in results if r[2] is not None]
    with sqlite3.connect(db) as conn:
        turns = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM conversation_turns WHERE session_id LIKE 'load-session-%'"
            )
        }
        events = {
            r[0]
            for r in conn.execute("SELECT id FROM task_events WHERE workflow_run_id = 'load-run'")
        }
    print(f"{label}:")
    print(
        f"  reads: {len(latencies)} ok ({len(latencies) / args.seconds:.1f}/s), "
        f"errors {len(errors)}"
    )
    if latencies:
        print(
            f"  latency ms: p50 {percentile(latencies, 50) * 1000:.1f}, "
            f"p95 {percentile(latencies, 95) * 1000:.1f}, "
            f"p99 {percentile(latencies, 99) * 1000:.1f}, "
            f"mean {statistics.mean(latencies) * 1000:.1f}"
        )
    n_written = len(written["turn_ids"]) + len(written["event_ids"])
    print(
        f"  writes: {n_written} ({n_written / written['elapsed_s']:.1f}/s), "
        f"errors {written['errors']}, 'database is locked' {written['locked']}, "
        f"slowest {written['slowest_write_s'] * 1000:.1f} ms"
    )
    missing_turns = set(written["turn_ids"]) - turns
    missing_events = set(written["event_ids"]) - events
    print(
        f"  every write present afterwards: {not missing_turns and not missing_events} "
        f"({len(missing_turns)} turns, {len(missing_events)} events missing)"
    )
    if errors:
        print("  first read error:", errors[0])


def crash_case(env: dict, db: Path, base: str, session: str) -> None:
    """Kill a writer mid-transaction; check the file and that the dashboard still serves."""
    writer = subprocess.Popen(
        [sys.executable, str(HERE / "live_writer.py"), "crash", "--session", session],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "in transaction"
    writer.kill()
    writer.wait(timeout=30)
    with sqlite3.connect(db) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        half = conn.execute(
            "SELECT COUNT(*) FROM conversation_turns WHERE content LIKE 'crash-batch %'"
        ).fetchone()[0]
    opener = signed_in_opener(base)
    quoted = urllib.parse.quote(session, safe="")
    latency = timed(opener, f"{base}/sessions/{quoted}/")
    print(
        f"fault: writer killed mid-transaction: integrity_check {integrity}, "
        f"turns of the killed transaction in the file {half}, "
        f"dashboard answered 200 in {latency * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
