"""appendTurn throughput: the TypeScript store beside the Python one, on one SQLite file.

    .venv/bin/python benchmarks/append_turns.py [--turns 5000] [--rounds 5]

For each store: one writer, then four writer processes at once (each its own session, one
file, WAL, one write transaction per turn: BEGIN IMMEDIATE in Python, one INSERT ... SELECT
statement in TypeScript, both search indexes kept by their triggers). The
four configurations take turns, round after round, so a busy moment of the machine falls on
all of them; prints the median turns per second and the range. Needs the TypeScript store
built (scripts/test-store-ts).
"""

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# A Node with node:sqlite: the system's, or the one scripts/test-store-ts installed.
NODE = subprocess.run(
    [REPO / "scripts" / "find-node"], capture_output=True, text=True, check=True
).stdout.strip()


def env_for(db: Path) -> dict:
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "tommemory.settings",
        "DJANGO_SECRET_KEY": "benchmark-only",
        "TOM_RUNTIME_DB": str(db),
        "PYTHONPATH": str(REPO),
    }


def command(store: str, db: Path, session: str, turns: int) -> list[str]:
    if store == "typescript":
        return [str(NODE), str(REPO / "benchmarks" / "ts_append.mjs"), str(db), session, str(turns)]
    return [sys.executable, str(REPO / "benchmarks" / "py_append.py"), session, str(turns)]


def run(store: str, db: Path, writers: int, turns: int, round_: int) -> float:
    sessions = [f"{store}-{round_}-{n}" for n in range(writers)]
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO sessions (id, actor, started_at) VALUES (?, 'tom', '2026-11-28')",
            [(s,) for s in sessions],
        )
    procs = [
        subprocess.Popen(
            command(store, db, s, turns), env=env_for(db), stdout=subprocess.PIPE, text=True
        )
        for s in sessions
    ]
    seconds = [float(p.communicate(timeout=600)[0].split()[-1]) for p in procs]
    for p in procs:
        assert p.returncode == 0
    return writers * turns / max(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=5000, help="per writer")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "tom_runtime.sqlite"
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
            cwd=REPO, env=env_for(db), check=True,
        )  # fmt: skip
        configurations = [("typescript", 1), ("python", 1), ("typescript", 4), ("python", 4)]
        rates = {c: [] for c in configurations}
        for round_ in range(args.rounds):
            for n, (store, writers) in enumerate(configurations):
                rate = run(store, db, writers, args.turns, round_ * len(configurations) + n)
                rates[store, writers].append(rate)
        print(f"{'store':12} {'writers':>7} {'median turns/s':>15} {'range':>16}")
        for (store, writers), found in rates.items():
            span = f"{min(found):,.0f}-{max(found):,.0f}"
            print(f"{store:12} {writers:>7} {statistics.median(found):>15,.0f} {span:>16}")


if __name__ == "__main__":
    main()
