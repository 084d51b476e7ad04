"""The replay export of one long transcript (JSON and Markdown), in this process and
behind the production server.

    .venv/bin/python benchmarks/export_transcript.py [--turns 100000] [--runs 3] [--port 8742]

Builds a session of ``--turns`` turns (about 300 characters each, every tenth with
metadata) in a temporary SQLite file, then reads ``/sessions/<id>/?format=json`` and
``?format=md`` through Django's test client, consuming the whole streamed body, and prints
the best time of ``--runs`` for each with its size. Then it starts the README's production
command on that file (``gunicorn tommemory.wsgi -w 2``, on loopback; the ``bench`` extra)
and times the same exports from an HTTP client signed in through the login form, from the
request to the last byte of the body, checking the body is as long as in process.
(``--no-server`` leaves that out.) gunicorn's sync workers are killed by the arbiter when a
request runs past the worker timeout (30 s by default, which the README's command keeps):
an export must end well within it.
"""

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import prepare, signed_in_opener, start_gunicorn, wait_for  # noqa: E402

FORMATS = ("json", "md")
PIECE = 64 * 1024  # what the client reads at a time


def build(turns: int) -> str:
    """A migrated file with one session of ``turns`` turns; returns the session's id."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from memory_app.store import RuntimeMemoryStore

    call_command("migrate", verbosity=0)
    session = RuntimeMemoryStore().start_session("bench", channel="cli")
    text = "The deploy of the nightly digest finished; retries stayed below the limit. " * 4
    rows = [
        (
            f"turn-{n:07d}",
            session.id,
            n,
            ("user", "assistant", "tool")[n % 3],
            f"{n}: {text}",
            n % 500,
            f"2026-11-24T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}.000Z",
            '{"step":' + str(n) + "}" if n % 10 == 0 else "{}",
        )
        for n in range(turns)
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO conversation_turns (id, session_id, turn_index, role, content,"
            " token_count, created_at, metadata_json) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    return session.id


def whole_body(opener, url: str) -> tuple[float, int]:
    """Seconds from the request to the body's last byte, and the body's length."""
    began = time.perf_counter()
    size = 0
    with opener.open(url, timeout=120) as response:
        if response.status != 200:
            raise SystemExit(f"{url}: {response.status}")
        while piece := response.read(PIECE):
            size += len(piece)
    return time.perf_counter() - began, size


def worker_timeout() -> int:
    """The worker timeout of the README's command (it sets none: gunicorn's default)."""
    from gunicorn.config import Config

    return Config().timeout


def behind_gunicorn(db: Path, session_id: str, runs: int, port: int, sizes: dict) -> None:
    """Both exports through the production server, read whole by a client on loopback."""
    server = start_gunicorn(prepare(db), port)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/accounts/login/")
        opener = signed_in_opener(base)
        limit = worker_timeout()
        print(f"gunicorn tommemory.wsgi -w 2 -b 127.0.0.1:{port} (worker timeout {limit} s)")
        for fmt in FORMATS:
            times = []
            for _ in range(runs):
                spent, size = whole_body(opener, f"{base}/sessions/{session_id}/?format={fmt}")
                if size != sizes[fmt]:  # a worker killed mid-stream leaves a short body
                    raise SystemExit(f"{fmt}: {size:,} bytes of {sizes[fmt]:,} after {spent:.1f} s")
                times.append(spent)
            best, worst = min(times), max(times)
            print(
                f"{fmt:>4}: best {best:5.2f} s, worst {worst:5.2f} s of {runs} "
                f"({size / 1e6:.1f} MB, whole body; {worst / limit:.0%} of the worker timeout)"
            )
    finally:
        server.terminate()
        server.wait(timeout=20)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=0, help="for gunicorn (default: a free one)")
    parser.add_argument("--no-server", action="store_true", help="time in process only")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="export-bench-")
    db = Path(folder) / "transcript.sqlite"
    os.environ["TOM_RUNTIME_DB"] = str(db)
    os.environ["DJANGO_DEBUG"] = "0"  # production settings: no query log
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-" + "0123456789abcdef" * 4)
    os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ["DJANGO_SECURE_COOKIES"] = "0"
    os.environ["DJANGO_SSL_REDIRECT"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tommemory.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.test import Client

    started = time.perf_counter()
    session_id = build(args.turns)
    print(f"built {args.turns:,} turns in {time.perf_counter() - started:.1f} s ({folder})")
    reader = User.objects.create_user("bench-reader")
    reader.groups.add(Group.objects.get(name="reviewer"))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(reader)
    sizes = {}
    print("in process (Django's test client):")
    for fmt in FORMATS:
        times, size = [], 0
        for _ in range(args.runs):
            began = time.perf_counter()
            response = client.get(f"/sessions/{session_id}/?format={fmt}")
            assert response.status_code == 200, response.status_code
            size = sum(len(chunk) for chunk in response.streaming_content)
            times.append(time.perf_counter() - began)
        sizes[fmt] = size
        print(f"{fmt:>4}: best {min(times):5.2f} s of {args.runs} ({size / 1e6:.1f} MB)")
    if not args.no_server:
        from django.db import connections

        connections.close_all()  # the server's workers have the file to themselves
        behind_gunicorn(db, session_id, args.runs, args.port or free_port(), sizes)


if __name__ == "__main__":
    main()
