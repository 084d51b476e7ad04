"""Where a page's time goes: queries, templates, middleware and the rest of Python.

    .venv/bin/python benchmarks/profile_pages.py --db benchmarks/out/million.sqlite

Runs in this process with the production settings (no server, no network), so the
figures are the dashboard's own work. Each page is requested --requests times after a
warm-up; for each, the medians of:

- total: the request through every middleware (Django's test client);
- queries: time inside the database driver (``connection.execute_wrapper``);
- template: rendering, less the queries run while rendering;
- middleware: the request's time outside the view;
- python: the view's own time (total less the three above).

The pages: a transcript of 100 turns, the sessions list, search results for a common word,
a workflow timeline of 200 steps and 2,000 events, a proposal with 50 decisions and the
activity page. The run and the proposal are added to the file the first time, through the
store (``fixtures.py``).
"""

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import USER, prepare
from fixtures import ensure

PARTS = ("total", "queries", "template", "middleware", "python")


class Clock:
    """Time spent in queries and templates during one request."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = defaultdict(float)
        self.rendering = 0

    def query(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - started
            self.parts["queries"] += spent
            if self.rendering:
                self.parts["queries in templates"] += spent

    @contextmanager
    def rendering_template(self):
        outermost = not self.rendering
        self.rendering += 1
        started = time.perf_counter()
        try:
            yield
        finally:
            self.rendering -= 1
            if outermost:
                self.parts["template"] += time.perf_counter() - started


CLOCK = Clock()


def view_timer(get_response):
    """The innermost middleware: the time the view takes, renders included."""

    def middleware(request):
        started = time.perf_counter()
        try:
            return get_response(request)
        finally:
            CLOCK.parts["view"] += time.perf_counter() - started

    return middleware


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--word", default="deploys", help="the common word searched for")
    args = parser.parse_args()
    os.environ.update(prepare(args.db.resolve()))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.db.models import Count
    from django.template.backends.django import Template
    from django.test import Client

    from memory_app import models

    run_id, proposal_id = ensure()
    session_id = (
        models.Turn.objects.values("session_id")
        .annotate(n=Count("id"))
        .filter(n__gte=100)
        .values_list("session_id", flat=True)[5000:5001]
        .get()
    )
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "__main__.view_timer"]
    render = Template.render

    def timed_render(self, *a, **kw):
        with CLOCK.rendering_template():
            return render(self, *a, **kw)

    Template.render = timed_render
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=USER))
    pages = {
        "transcript (100 turns)": f"/sessions/{session_id}/",
        "sessions list (50 rows)": "/sessions/",
        f"search '{args.word}'": f"/sessions/?q={args.word}",
        "workflow timeline (200 steps, 2,000 events)": f"/workflows/{run_id}/",
        "proposal (50 decisions)": f"/proposals/{proposal_id}/",
        "activity": "/activity/",
    }
    print(f"{args.db} ({args.db.stat().st_size / 1e6:,.0f} MB), medians of {args.requests}, ms")
    print(f"{'page':46}" + "".join(f"{p:>11}" for p in PARTS))
    with connection.execute_wrapper(CLOCK.query):
        for label, url in pages.items():
            samples: dict[str, list[float]] = defaultdict(list)
            for n in range(args.requests + 3):
                CLOCK.parts.clear()
                started = time.perf_counter()
                response = client.get(url)
                total = time.perf_counter() - started
                assert response.status_code == 200, (url, response.status_code)
                if n < 3:  # warm-up
                    continue
                parts = CLOCK.parts
                template = parts["template"] - parts["queries in templates"]
                middleware = total - parts["view"]
                python = total - parts["queries"] - template - middleware
                for name, value in zip(
                    PARTS, (total, parts["queries"], template, middleware, python), strict=True
                ):
                    samples[name].append(value * 1000)
            print(f"{label:46}" + "".join(f"{statistics.median(samples[p]):11.1f}" for p in PARTS))


if __name__ == "__main__":
    main()
