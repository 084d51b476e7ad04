"""Time copy_database from a SQLite file to PostgreSQL and back, and check nothing is lost.

    scripts/with-postgres .venv/bin/python benchmarks/copy_both_ways.py --db FILE

(``with-postgres`` starts a throw-away cluster and sets DATABASE_URL; the database it names
must be empty.) Prints the wall time of each direction, then compares every row of every
copied table between the file and the copy that came back, turns in the order they were
added.
"""

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def copied_models() -> list:
    """The models copy_database copies (the one list of what a copy holds)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tommemory.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only")
    sys.path.insert(0, str(REPO))
    django.setup()
    from memory_app.management.commands.copy_database import COPIED

    return COPIED


def copy(source: str, target: str) -> float:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"DJANGO_SECRET_KEY": "benchmark-only", "TOM_RUNTIME_DB": str(Path(source))}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "copy_database", "--from", source,
         "--to", target, "--batch-size", "20000"],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def same_rows(a: Path, b: Path) -> int:
    """Compare the files table by table; return the number of rows compared."""
    tables = [model._meta.db_table for model in copied_models()]
    compared = 0
    with sqlite3.connect(a) as one, sqlite3.connect(b) as other:
        queries = [f"SELECT * FROM {t} ORDER BY 1" for t in tables]
        queries.append("SELECT id FROM conversation_turns ORDER BY rowid")
        for query in queries:
            left, right = one.execute(query), other.execute(query)
            while True:
                x, y = left.fetchmany(10_000), right.fetchmany(10_000)
                if x != y:
                    raise SystemExit(f"rows differ: {query}")
                if not x:
                    break
                compared += len(x)
    return compared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    with sqlite3.connect(args.db) as conn:
        turns = conn.execute("SELECT COUNT(*) FROM conversation_turns").fetchone()[0]
    there = copy(str(args.db), url)
    print(f"SQLite -> PostgreSQL: {there:.1f} s ({turns / there:,.0f} turns/s)")
    with tempfile.TemporaryDirectory() as tmp:
        back_file = Path(tmp) / "back.sqlite"
        back = copy(url, str(back_file))
        print(f"PostgreSQL -> SQLite: {back:.1f} s ({turns / back:,.0f} turns/s)")
        print(f"{same_rows(args.db, back_file):,} rows compared: the copy that came back is equal")


if __name__ == "__main__":
    main()
