"""Side by side: tommemory's transcript and sessions pages vs Datasette's table pages.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/seed_million.py --keep benchmarks/out/million.sqlite
    .venv/bin/python benchmarks/pages_vs_datasette.py --db benchmarks/out/million.sqlite

Both servers run on loopback against the same file: tommemory under gunicorn (the
production command in the README, 2 workers), Datasette from PyPI. Each page is
requested --requests times, alternating servers, after a warm-up; the medians and the
ratio (tommemory / Datasette, lower is better) are printed.
"""

import argparse
import http.cookiejar
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
USER, PASSWORD = "bench-reviewer", "bench-password-not-secret"


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not start")


def signed_in_opener(base: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": "/"}
    ).encode()
    request = urllib.request.Request(base + "/accounts/login/", data=data)
    request.add_header("Referer", base + "/accounts/login/")
    opener.open(request).read()
    if not any(c.name == "sessionid" for c in jar):
        raise SystemExit("could not sign in to tommemory")
    return opener


def timed(opener, url: str) -> float:
    started = time.perf_counter()
    with opener.open(url) as response:
        response.read()
        assert response.status == 200, url
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--port", type=int, default=8731)
    args = parser.parse_args()
    db = args.db.resolve()
    with sqlite3.connect(db) as conn:
        session_id = conn.execute(
            "SELECT session_id FROM conversation_turns GROUP BY session_id "
            "HAVING COUNT(*) >= 100 LIMIT 1 OFFSET 5000"
        ).fetchone()[0]
    env = os.environ | {
        "TOM_RUNTIME_DB": str(db),
        "DJANGO_SECRET_KEY": "benchmark-only-" + "x" * 40,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    setup = (
        "from django.contrib.auth.models import User, Group\n"
        f"u, _ = User.objects.get_or_create(username={USER!r})\n"
        f"u.set_password({PASSWORD!r}); u.save()\n"
        "u.groups.add(Group.objects.get(name='reviewer'))\n"
    )
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*manage, "shell", "-c", setup], env=env, check=True)
    ours, theirs = args.port, args.port + 1
    servers = [
        subprocess.Popen(
            [str(BIN / "gunicorn"), "tommemory.wsgi", "-w", "2", "-b", f"127.0.0.1:{ours}"],
            env=env,
            cwd=REPO,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [str(BIN / "datasette"), "serve", str(db), "-p", str(theirs), "-h", "127.0.0.1"],
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
        }
        print(f"database: {db} ({db.stat().st_size / 1e6:,.0f} MB); {args.requests} requests each")
        for label, (our_url, their_url) in pages.items():
            for _ in range(5):
                timed(opener, our_url)
                timed(plain, their_url)
            ours_times, theirs_times = [], []
            for _ in range(args.requests):
                ours_times.append(timed(opener, our_url))
                theirs_times.append(timed(plain, their_url))
            a, b = statistics.median(ours_times), statistics.median(theirs_times)
            print(
                f"{label:24} tommemory {a * 1000:7.1f} ms   datasette {b * 1000:7.1f} ms   "
                f"ratio {a / b:.2f}"
            )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
