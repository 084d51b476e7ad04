"""Median time of the main pages through Django's test client, in this process (no server).

    .venv/bin/python benchmarks/pages_in_process.py --db benchmarks/out/demo.sqlite

A quick look at where a change costs, before the side-by-side server benchmarks
(pages_vs_datasette.py). The database needs the demo logins (manage.py demo_users).
"""

import argparse
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="a migrated database with demo data")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    os.environ["TOM_RUNTIME_DB"] = os.path.abspath(args.db)
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tommemory.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.test import Client

    from memory_app.models import Session, TaskEvent, Turn

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username="demo-reviewer"))
    session = Session.objects.order_by("-started_at").first()
    print(f"{Turn.objects.count():,} turns, {TaskEvent.objects.count():,} task events")
    for url in [
        "/activity/",
        "/activity/?kind=events",
        "/sessions/",
        "/sessions/?q=resume",
        "/sessions/?q=deploys",
        f"/sessions/{session.pk}/",
        "/workflows/",
        "/proposals/",
    ]:
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{url:48} median {statistics.median(times):7.1f} ms")


if __name__ == "__main__":
    main()
