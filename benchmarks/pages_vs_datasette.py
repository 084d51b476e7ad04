"""Side by side: tommemory's transcript, sessions and search pages vs Datasette's; and, in
the same run, tommemory's timeline, proposal and activity pages against its transcript.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/seed_million.py --keep benchmarks/out/million.sqlite
    .venv/bin/python benchmarks/pages_vs_datasette.py --db benchmarks/out/million.sqlite

Both servers run on loopback against the same file: tommemory under gunicorn (the
production command in the README, 2 workers), Datasette from PyPI. Each page is
requested --requests times, alternating servers, after a warm-up; the medians and the
ratio (tommemory / Datasette, lower is better) are printed. For search, Datasette is told
the table's word index (``turn_words``) in a metadata file beside the database.

Then the pages Datasette has no counterpart for (a workflow timeline of 200 steps and
2,000 events, a proposal with 50 decisions, the activity page; ``fixtures.py`` adds the
run and the proposal the first time) are requested alternating with the transcript, and
each one's median is given as a multiple of the transcript's (the target is at most 2).
"""

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, REPO, prepare, signed_in_opener, start_gunicorn, timed, wait_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--port", type=int, default=8731)
    # A word as the turns spell it: Datasette's search matches whole words ("deploy" finds
    # none of the 29,366 turns that say "deploys"), so both pages list the same turns.
    parser.add_argument("--word", default="deploys", help="a common word to search for")
    args = parser.parse_args()
    db = args.db.resolve()
    with sqlite3.connect(db) as conn:
        session_id = conn.execute(
            "SELECT session_id FROM conversation_turns GROUP BY session_id "
            "HAVING COUNT(*) >= 100 LIMIT 1 OFFSET 5000"
        ).fetchone()[0]
    env = prepare(db)
    made = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "fixtures.py"), "--db", str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    fixtures = json.loads(made.stdout)
    ours, theirs = args.port, args.port + 1
    # Datasette's full-text search on the same index the dashboard searches words with.
    metadata = db.with_name("datasette-metadata.json")
    metadata.write_text(
        json.dumps(
            {
                "databases": {
                    db.stem: {
                        "tables": {
                            "conversation_turns": {"fts_table": "turn_words", "fts_pk": "rowid"}
                        }
                    }
                }
            }
        )
    )
    servers = [
        start_gunicorn(env, ours),
        subprocess.Popen(
            [
                *(str(BIN / "datasette"), "serve", str(db), "-p", str(theirs)),
                *("-h", "127.0.0.1", "--metadata", str(metadata)),
            ],
            stderr=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        ),
    ]
    try:
        base_ours, base_theirs = f"http://127.0.0.1:{ours}", f"http://127.0.0.1:{theirs}"
        wait_for(base_ours + "/accounts/login/")
        wait_for(base_theirs + "/")
        opener = signed_in_opener(base_ours)
        plain = urllib.request.build_opener()
        name = db.stem
        quoted = urllib.parse.quote(session_id, safe="")
        pages = {
            "transcript, 100 turns": (
                f"{base_ours}/sessions/{quoted}/",
                f"{base_theirs}/{name}/conversation_turns?session_id={quoted}"
                "&_sort=turn_index&_size=100",
            ),
            "sessions list, 50 rows": (
                f"{base_ours}/sessions/",
                f"{base_theirs}/{name}/sessions?_sort_desc=started_at&_size=50",
            ),
            f"search '{args.word}', 50": (
                f"{base_ours}/sessions/?q={args.word}",
                f"{base_theirs}/{name}/conversation_turns?_search={args.word}&_size=50",
            ),
        }
        print(f"database: {db} ({db.stat().st_size / 1e6:,.0f} MB); {args.requests} requests each")
        for label, (our_url, their_url) in pages.items():
            ours_listed = listed(opener, our_url, "<li data-row", "<tr data-row", 'class="turn ')
            theirs_listed = listed(plain, their_url, "<tr>") - 1  # less the header row
            print(f"{label:24} tommemory lists {ours_listed} rows, datasette {theirs_listed}")
            a, b = alternating(opener, our_url, plain, their_url, args.requests)
            print(
                f"{label:24} tommemory {a * 1000:7.1f} ms   datasette {b * 1000:7.1f} ms   "
                f"ratio {a / b:.2f}"
            )
        transcript = pages["transcript, 100 turns"][0]
        ours_only = {
            "timeline, 200 steps": f"/workflows/{urllib.parse.quote(fixtures['run'], safe='')}/",
            "proposal, 50 decisions": (
                f"/proposals/{urllib.parse.quote(fixtures['proposal'], safe='')}/"
            ),
            "activity": "/activity/",
        }
        for label, path in ours_only.items():
            a, b = alternating(opener, base_ours + path, opener, transcript, args.requests)
            print(
                f"{label:24} tommemory {a * 1000:7.1f} ms   transcript {b * 1000:6.1f} ms   "
                f"{a / b:.2f} times the transcript"
            )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)


def listed(opener, url: str, *marks: str) -> int:
    """How many rows a page lists: the number of times its row markup occurs."""
    with opener.open(url, timeout=30) as response:
        page = response.read().decode()
    return sum(page.count(mark) for mark in marks)


def alternating(first, first_url: str, second, second_url: str, requests: int):
    """The medians of ``requests`` requests to each URL, alternating, after a warm-up."""
    for _ in range(5):
        timed(first, first_url)
        timed(second, second_url)
    firsts, seconds = [], []
    for _ in range(requests):
        firsts.append(timed(first, first_url))
        seconds.append(timed(second, second_url))
    return statistics.median(firsts), statistics.median(seconds)


if __name__ == "__main__":
    main()
