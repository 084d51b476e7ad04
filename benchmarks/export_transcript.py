"""The replay export of one long transcript (JSON and Markdown), timed in this process.

    .venv/bin/python benchmarks/export_transcript.py [--turns 100000] [--runs 3]

Builds a session of ``--turns`` turns (about 300 characters each, every tenth with
metadata) in a temporary SQLite file, then reads ``/sessions/<id>/?format=json`` and
``?format=md`` through Django's test client, consuming the whole streamed body, and prints
the best time of ``--runs`` for each with its size. The production server's workers give
up on a request after 30 s (gunicorn's default timeout): an export must end well within it.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="export-bench-")
    os.environ["TOM_RUNTIME_DB"] = str(Path(folder) / "transcript.sqlite")
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
    for fmt in ("json", "md"):
        times, size = [], 0
        for _ in range(args.runs):
            began = time.perf_counter()
            response = client.get(f"/sessions/{session_id}/?format={fmt}")
            assert response.status_code == 200, response.status_code
            size = sum(len(chunk) for chunk in response.streaming_content)
            times.append(time.perf_counter() - began)
        print(f"{fmt:>4}: best {min(times):5.2f} s of {args.runs} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
