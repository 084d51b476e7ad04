"""Time `seed_demo` writing one million turns (10,000 sessions x 100) into a fresh file.

    .venv/bin/python benchmarks/seed_million.py [--sessions 10000] [--turns 100] [--keep PATH]

Prints the wall time of the seeding alone (migrations excluded) and turns per second.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="copy the seeded database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite"
        env = os.environ | {"TOM_RUNTIME_DB": str(db), "DJANGO_DEBUG": "1"}
        manage = [sys.executable, str(REPO / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
        started = time.perf_counter()
        subprocess.run(
            [
                *manage,
                "seed_demo",
                f"--sessions={args.sessions}",
                f"--turns={args.turns}",
                f"--runs={max(80, args.sessions // 5)}",
                f"--skills={max(30, args.sessions // 20)}",
                "--anchor=2026-11-24T12:00:00Z",
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - started
        turns = args.sessions * args.turns
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
        print(f"seed_demo: {turns:,} turns in {args.sessions:,} sessions")
        print(f"  wall time {elapsed:.1f} s, {turns / elapsed:,.0f} turns/s, {size_mb:,.0f} MB")
        if args.keep:
            subprocess.run(
                ["sqlite3", str(db), "PRAGMA wal_checkpoint(TRUNCATE);"],
                check=False,
                capture_output=True,
            )
            shutil.copy(db, args.keep)
            print(f"  kept at {args.keep}")


if __name__ == "__main__":
    main()
