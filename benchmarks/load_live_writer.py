"""Readers and a live writer on one file: throughput, latency, errors, then a crash.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/seed_million.py --keep benchmarks/out/million.sqlite
    .venv/bin/python benchmarks/load_live_writer.py --db benchmarks/out/million.sqlite

On a copy of the database: gunicorn (2 workers) serves the dashboard on loopback while
benchmarks/live_writer.py appends turns and task events through RuntimeMemoryStore at
--rate writes per second, and --clients reader threads request transcript, workflow
timeline and proposal pages for --seconds. Reported: reader throughput, p50/p95/p99
latency, HTTP errors, the writer's errors and "database is locked" count, and whether
every turn and event written is in the database afterwards. Then the fault case: a
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import prepare, signed_in_opener, start_gunicorn, timed, wait_for

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


def reader(base: str, targets: dict, deadline: float, results: list, seed: int) -> None:
    rng = random.Random(seed)
    opener = signed_in_opener(base)
    q = urllib.parse.quote
    while time.monotonic() < deadline:
        kind = rng.choice(["live", "old", "run", "proposal"])
        if kind == "live":
            url = f"/sessions/{q(rng.choice(targets['live']), safe='')}/"
        elif kind == "old":
            url = f"/sessions/{q(rng.choice(targets['old']), safe='')}/"
        elif kind == "run":
            url = f"/workflows/{q(rng.choice(targets['runs']), safe='')}/"
        else:
            url = f"/proposals/{q(rng.choice(targets['proposals']), safe='')}/"
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
        server = start_gunicorn(env, args.port)
        base = f"http://127.0.0.1:{args.port}"
        try:
            wait_for(base + "/accounts/login/")
            report_file = Path(tmp) / "writer.json"
            writer = subprocess.Popen(
                [
                    sys.executable,
                    str(HERE / "live_writer.py"),
                    "load",
                    "--sessions",
                    ",".join(targets["live"]),
                    "--run",
                    "load-run",
                    "--rate",
                    str(args.rate),
                    "--seconds",
                    str(args.seconds),
                    "--out",
                    str(report_file),
                ],
                env=env,
            )
            deadline = time.monotonic() + args.seconds
            results: list = []
            threads = [
                threading.Thread(target=reader, args=(base, targets, deadline, results, n))
                for n in range(args.clients)
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
                    for r in conn.execute(
                        "SELECT id FROM task_events WHERE workflow_run_id = 'load-run'"
                    )
                }
            print(
                f"load: {args.clients} reader threads, writer at {args.rate:.0f} writes/s, "
                f"{args.seconds:.0f} s, database {args.db.stat().st_size / 1e6:,.0f} MB"
            )
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
                f"  every write present afterwards: "
                f"{not missing_turns and not missing_events} "
                f"({len(missing_turns)} turns, {len(missing_events)} events missing)"
            )
            if errors:
                print("  first read error:", errors[0])
            crash_case(env, db, base, targets["live"][0])
        finally:
            server.terminate()
            server.wait(timeout=30)


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
