"""Several app servers on one PostgreSQL under a live writer, beside one server and SQLite.

    .venv/bin/pip install -e '.[bench]'
    scripts/with-postgres .venv/bin/python benchmarks/several_servers.py [--seconds 60]

Three runs, the same data in each (seed_demo --sessions 2000 --turns 50 --runs 200 --skills
60, seeded once into the PostgreSQL database DATABASE_URL names and once into a SQLite
file): two gunicorn servers (two workers each) on two loopback ports sharing PostgreSQL;
one such server on PostgreSQL; one on the SQLite file. In each, a writer (the TypeScript
store, as the agent runtime writes: benchmarks/ts_live_writer.mjs; or --writer python:
benchmarks/live_writer.py) writes at --rate writes per second (3 turns to 1 task event)
while --clients reader threads, each signed in on one server and taking turns between them,
request transcript, workflow timeline and proposal pages for --seconds. Reported side by
side: reads per second, p50/p95/p99 latency, read errors, writes, write errors, and writes
missing from the database afterwards.
"""

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, prepare, signed_in_opener, start_gunicorn, wait_for
from load_live_writer import percentile, reader, tommemory_url

HERE = Path(__file__).resolve().parent
# A Node with node:sqlite: the system's, or the one scripts/test-store-ts installed.
NODE = subprocess.run(
    [REPO / "scripts" / "find-node"], capture_output=True, text=True, check=True
).stdout.strip()
SEED = ["--sessions", "2000", "--turns", "50", "--runs", "200", "--skills", "60"]


class Database:
    """The benchmark's view of a database: a SQLite file or a PostgreSQL URL."""

    def __init__(self, spec: str):
        self.spec = spec
        self.postgresql = spec.startswith(("postgres://", "postgresql://"))

    def query(self, sql: str, params=()) -> list[tuple]:
        if self.postgresql:
            import psycopg

            with psycopg.connect(self.spec) as conn:
                cursor = conn.execute(sql.replace("%", "%%").replace("?", "%s"), params)
                return cursor.fetchall() if cursor.description else []
        with sqlite3.connect(self.spec) as conn:
            return conn.execute(sql, params).fetchall()


def seed(database: Database) -> dict[str, str]:
    """Migrate, make the benchmark reviewer and seed; return the servers' environment."""
    if database.postgresql:
        env = prepare(Path("unused.sqlite"), database.spec)
    else:
        env = prepare(Path(database.spec))
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "seed_demo", *SEED], env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def targets(database: Database) -> dict:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    live = [f"load-session-{n}" for n in range(4)]
    for session in live:
        database.query(
            "INSERT INTO sessions (id, actor, channel, started_at) VALUES (?, 'tom', 'api', ?)",
            (session, now),
        )
    database.query(
        "INSERT INTO workflow_runs (id, workflow_name, trigger_source, initiated_by, status, "
        "started_at) VALUES ('load-run', 'load', 'agent', 'bench', 'running', ?)",
        (now,),
    )
    old = [r[0] for r in database.query("SELECT id FROM sessions ORDER BY id LIMIT 50")]
    runs = [r[0] for r in database.query("SELECT id FROM workflow_runs ORDER BY id LIMIT 20")]
    proposals = [r[0] for r in database.query("SELECT id FROM skill_to_logic_proposals LIMIT 20")]
    return {"live": live, "old": old, "runs": [*runs, "load-run"], "proposals": proposals}


def run(label: str, database: Database, env: dict, servers: int, args) -> dict:
    ports = [args.port + n for n in range(servers)]
    processes = [start_gunicorn(env, port) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            wait_for(base + "/accounts/login/")
        found = targets(database)
        with tempfile.TemporaryDirectory() as tmp:
            report_file = Path(tmp) / "writer.json"
            if args.writer == "typescript":
                command = [NODE, str(HERE / "ts_live_writer.mjs"), database.spec,
                           ",".join(found["live"]), "load-run", str(args.rate),
                           str(args.seconds), str(report_file)]  # fmt: skip
            else:
                command = [sys.executable, str(HERE / "live_writer.py"), "load",
                           "--sessions", ",".join(found["live"]), "--run", "load-run",
                           "--rate", str(args.rate), "--seconds", str(args.seconds),
                           "--out", str(report_file)]  # fmt: skip
            homes = [bases[n % servers] for n in range(args.clients)]
            openers = [signed_in_opener(base) for base in homes]  # signed in before the clock
            writer = subprocess.Popen(command, env=env)
            deadline = time.monotonic() + args.seconds
            results: list = []
            threads = [
                threading.Thread(
                    target=reader,
                    args=(base, tommemory_url, opener, found, deadline, results, n),
                )
                for n, (base, opener) in enumerate(zip(homes, openers, strict=True))
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            writer.wait(timeout=args.seconds + 300)
            written = json.loads(report_file.read_text())
        turns = {
            r[0]
            for r in database.query(
                "SELECT id FROM conversation_turns WHERE session_id LIKE 'load-session-%'"
            )
        }
        events = {
            r[0]
            for r in database.query("SELECT id FROM task_events WHERE workflow_run_id = 'load-run'")
        }
        # The next run starts afresh (events keep their content; their run link clears).
        database.query("DELETE FROM sessions WHERE id LIKE 'load-session-%'")
        database.query("DELETE FROM workflow_runs WHERE id = 'load-run'")
        latencies = [r[1] for r in results if r[1] is not None]
        return {
            "label": label,
            "reads/s": len(latencies) / args.seconds,
            "p50": percentile(latencies, 50) * 1000,
            "p95": percentile(latencies, 95) * 1000,
            "p99": percentile(latencies, 99) * 1000,
            "read errors": sum(1 for r in results if r[2] is not None),
            "writes/s": (len(written["turn_ids"]) + len(written["event_ids"]))
            / written["elapsed_s"],
            "write errors": written["errors"],
            "lost": len(set(written["turn_ids"]) - turns) + len(set(written["event_ids"]) - events),
        }
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--port", type=int, default=8761)
    parser.add_argument("--writer", choices=["typescript", "python"], default="typescript")
    args = parser.parse_args()
    postgresql = Database(os.environ["DATABASE_URL"])
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = Database(str(Path(tmp) / "bench.sqlite"))
        pg_env, sqlite_env = seed(postgresql), seed(sqlite)
        rows = [
            run("PostgreSQL, 2 servers", postgresql, pg_env, 2, args),
            run("PostgreSQL, 1 server", postgresql, pg_env, 1, args),
            run("SQLite, 1 server", sqlite, sqlite_env, 1, args),
        ]
    print(
        f"{args.clients} reader threads, {args.writer} writer at {args.rate:.0f} writes/s, "
        f"{args.seconds:.0f} s"
    )
    print(f"{'':24} {'reads/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'read err':>8} "
          f"{'writes/s':>8} {'write err':>9} {'lost':>5}")  # fmt: skip
    for r in rows:
        print(
            f"{r['label']:24} {r['reads/s']:>8.1f} {r['p50']:>7.1f} {r['p95']:>7.1f} "
            f"{r['p99']:>7.1f} {r['read errors']:>8} {r['writes/s']:>8.1f} "
            f"{r['write errors']:>9} {r['lost']:>5}"
        )


if __name__ == "__main__":
    main()
