"""The overview's story, kept while the rows it reads stay as they were (and a minute at most).

Telling a window's story reads every row of it (a 7-day window of the million-turn file holds
about 150,000 turns) and applies the governance rule to every waiting proposal, so the page
keeps what it computed in the process's cache, keyed by the window and by what the rows are
now (``data_version``, one query):

- the change tokens of sessions, workflow runs and proposals (any writer's insert, update or
  delete replaces them: migration 0018);
- the newest turn's place (SQLite's rowid; PostgreSQL's ``tommemory_turn_positions``): an
  appended turn, whoever wrote it;
- how many validations, decisions, deploy outcomes and break-glass decisions there are
  (append-only: a new one changes the count) and the decision log's last entry (a take-in);
- the minute: windows end now, a decision's counted time and an approval's expiry move with
  the clock, and what the version cannot see (another writer editing a turn or a workflow
  step in place) shows within a minute.

So a write shows on the next request, and no figure is more than a minute old.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from django.core.cache import cache
from django.db import connection

from memory_app.overview.window import Window
from memory_app.timeutil import format_iso

# The lifetime of a kept story: its minute and the next (the key holds the minute).
KEPT_SECONDS = 120

_TOKENS = "SELECT token FROM tommemory_change_tokens WHERE \"table\" = '{}'"
_COUNTED = ("validation_results", "approvals", "deploy_outcomes", "tommemory_overrides")
_NEWEST_TURN = {
    "sqlite": "SELECT MAX(rowid) FROM conversation_turns",
    "postgresql": "SELECT MAX(position) FROM tommemory_turn_positions",
}


def data_version() -> tuple:
    """What the story's rows are now (see the module docstring), in one query."""
    parts = [
        *(
            _TOKENS.format(table)
            for table in ("sessions", "workflow_runs", "skill_to_logic_proposals")
        ),
        _NEWEST_TURN[connection.vendor],
        *(f"SELECT COUNT(*) FROM {table}" for table in _COUNTED),  # noqa: S608 (names above)
        'SELECT MAX("index") FROM tommemory_audit_log',
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"({sql})" for sql in parts))
        return tuple(cursor.fetchone())


def kept[T](window: Window, now: datetime, compute: Callable[[], T]) -> tuple[T, str]:
    """The story of ``window`` as ``compute`` tells it, from the cache while the rows and the
    minute are the same; and the moment it was computed (canonical text)."""
    described = (window.query(), format_iso(now)[:16], data_version())
    key = "overview-story:" + hashlib.blake2b(repr(described).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = (compute(), format_iso(now))
        cache.set(key, found, KEPT_SECONDS)
    return found
