"""A gunicorn worker's resident memory after 10,000 mixed requests.

    .venv/bin/python benchmarks/worker_memory.py --db benchmarks/out/million.sqlite

The README's production command (two workers) on loopback; one client cycles through the
transcripts of many sessions, the sessions list and its pages, searches, workflow runs,
proposals and the activity page, so caches fill as they would. Prints each worker's
resident set size (VmRSS) at the start and at the end.
"""

import argparse
import itertools
import sqlite3
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import prepare, signed_in_opener, start_gunicorn, timed, wait_for


def worker_rss(master: int) -> dict[int, int]:
    """Resident kB of each child of the gunicorn master."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if fields.get("PPid", "").strip() == str(master):
            found[int(status.parent.name)] = int(fields["VmRSS"].split()[0])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=8741)
    args = parser.parse_args()
    db = args.db.resolve()
    with sqlite3.connect(db) as conn:
        sessions = [r[0] for r in conn.execute("SELECT id FROM sessions LIMIT 2000")]
        runs = [r[0] for r in conn.execute("SELECT id FROM workflow_runs LIMIT 200")]
        proposals = [r[0] for r in conn.execute("SELECT id FROM skill_to_logic_proposals")]
    quote = urllib.parse.quote
    lists = ["/sessions/", "/sessions/?status=ended", "/sessions/?q=deploy", "/sessions/?q=retry"]
    lists += ["/activity/", "/proposals/", "/workflows/", "/"]
    pages = itertools.cycle(
        [
            *(f"/sessions/{quote(s, safe='')}/" for s in sessions),
            *(f"/workflows/{quote(r, safe='')}/" for r in runs),
            *(f"/proposals/{quote(p, safe='')}/" for p in proposals),
            *lists,
        ]
    )
    server = start_gunicorn(prepare(db), args.port)
    try:
        base = f"http://127.0.0.1:{args.port}"
        wait_for(base + "/accounts/login/")
        opener = signed_in_opener(base)
        timed(opener, base + "/")
        start = worker_rss(server.pid)
        started = time.monotonic()
        for n, page in zip(range(args.requests), pages, strict=False):
            timed(opener, base + page)
            if n and n % 2000 == 0:
                spent = time.monotonic() - started
                print(f"{n:,} requests, {spent:.0f} s: {worker_rss(server.pid)}", flush=True)
        end = worker_rss(server.pid)
        print(f"resident kB per worker at the start {start}, after {args.requests:,}: {end}")
        print(f"largest worker: {max(end.values()) / 1024:.1f} MB")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
