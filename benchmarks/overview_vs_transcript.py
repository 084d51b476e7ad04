"""The overview's time beside a transcript's, on the million-turn file (issue #22: at most 2x).

    .venv/bin/python benchmarks/overview_vs_transcript.py --db benchmarks/out/million.sqlite

In this process with the production settings (no server, as ``profile_pages.py``): the
overview for each window (24 hours, 7 days, 30 days) and the newest 100-turn transcript,
requested in turn after a warm-up: --requests times with the story kept (the rows did not
change: ``overview/freshness.py``), --cold times computed afresh (the cache cleared, as after
any write); prints each one's median and the ratio. The demo's rows end at its anchor, so
the overview's "now" is pinned there (``--now``; ``timeutil.clock``, the one clock every
page asks): its windows then hold what a live file would (on the million-turn file a
session every 7 minutes, 100 turns each).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import USER, prepare

ANCHOR = "2026-11-24T12:00:00Z"  # seed_million.py's --anchor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True, help="the million-turn file")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--cold", type=int, default=5, help="requests with the story computed")
    parser.add_argument("--now", default=ANCHOR, help="the moment the windows end at")
    parser.add_argument("--windows", default="24h,7d,30d")
    args = parser.parse_args()
    os.environ.update(prepare(args.db.resolve()))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.test import Client

    from memory_app import timeutil
    from memory_app.models import Session, Turn

    moment = timeutil.parse_iso(args.now)
    timeutil.clock = lambda: moment
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=USER))
    session = Session.objects.order_by("-started_at").first()
    transcript = f"/sessions/{session.pk}/"
    print(
        f"{Turn.objects.count():,} turns; transcript {transcript} "
        f"({Turn.objects.filter(session=session).count()} turns); now = {args.now}"
    )

    def timed(url: str) -> float:
        started = time.perf_counter()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return (time.perf_counter() - started) * 1000

    def cold(url: str) -> float:
        cache.clear()  # the story computed afresh, as after any write
        return timed(url)

    for window in args.windows.split(","):
        overview = f"/?window={window}"
        timed(overview), timed(transcript)  # warm-up
        for label, first, runs in (("kept", timed, args.requests), ("cold", cold, args.cold)):
            pairs = [(first(overview), timed(transcript)) for _ in range(runs)]
            ours = statistics.median(p[0] for p in pairs)
            theirs = statistics.median(p[1] for p in pairs)
            print(
                f"overview {window:>4} {label}: median {ours:8.1f} ms; transcript {theirs:6.1f} ms;"
                f" ratio {ours / theirs:.2f} ({runs} requests each)"
            )


if __name__ == "__main__":
    main()
