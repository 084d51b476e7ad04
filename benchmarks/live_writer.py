"""The runtime side of the load benchmark: writes through RuntimeMemoryStore.

    python benchmarks/live_writer.py load --sessions A,B --run R --rate 200 --seconds 60 --out F
    python benchmarks/live_writer.py crash --session A

``load`` appends turns (3 of 4 writes) and task events (1 of 4) at a steady rate and
writes a JSON report (ids written, errors, "database is locked" errors) to --out.
``crash`` appends turns inside one transaction, prints "in transaction" and waits to be
killed, so the caller can check the file after a writer dies mid-transaction.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load(args) -> None:
    from memory_app.store import RuntimeMemoryStore

    store = RuntimeMemoryStore()
    sessions = args.sessions.split(",")
    report = {"turn_ids": [], "event_ids": [], "errors": 0, "locked": 0, "slowest_write_s": 0.0}
    interval = 1.0 / args.rate
    started = time.monotonic()
    n = 0
    while (now := time.monotonic()) - started < args.seconds:
        due = started + n * interval
        if due > now:
            time.sleep(due - now)
        begin = time.perf_counter()
        try:
            if n % 4 == 3:
                event = store.add_event("info", "low", f"load event {n}", run_id=args.run)
                report["event_ids"].append(event.id)
            else:
                session = sessions[n % len(sessions)]
                turn = store.append_turn(session, "agent", f"load turn {n}", token_count=3)
                report["turn_ids"].append(turn.id)
        except Exception as exc:  # counted and reported, never fatal to the run
            report["errors"] += 1
            report["locked"] += "database is locked" in str(exc)
        report["slowest_write_s"] = max(report["slowest_write_s"], time.perf_counter() - begin)
        n += 1
    report["elapsed_s"] = time.monotonic() - started
    Path(args.out).write_text(json.dumps(report))


def crash(args) -> None:
    from django.db import transaction

    from memory_app.store import RuntimeMemoryStore

    store = RuntimeMemoryStore()
    with transaction.atomic():
        for n in range(200):
            store.append_turn(args.session, "agent", f"crash-batch {n}")
        print("in transaction", flush=True)
        time.sleep(600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="mode", required=True)
    run_load = sub.add_parser("load")
    run_load.add_argument("--sessions", required=True)
    run_load.add_argument("--run", required=True)
    run_load.add_argument("--rate", type=float, default=200)
    run_load.add_argument("--seconds", type=float, default=60)
    run_load.add_argument("--out", required=True)
    run_crash = sub.add_parser("crash")
    run_crash.add_argument("--session", required=True)
    args = parser.parse_args()
    django.setup()
    {"load": load, "crash": crash}[args.mode](args)


if __name__ == "__main__":
    main()
