"""The time a governed row counts at: the time it claims, held to what the decision log saw.

A writer chooses the time it writes in a validation, decision, deploy outcome or
break-glass row; the decision log (``decision_log``) records when tommemory first saw the row.
So a row's *counted* time is its claimed time clamped to two moments the log knows:

- ``hi``: no later than when the log recorded the row (its entry's ``logged_at``), or, for
  a row the log has not taken in yet, than the moment it is read (it exists now);
- ``lo``: no earlier than the log's latest take-in before that one (the latest earlier
  entry, by log position, whose ``logged_at`` is earlier than ``hi``; for a row not taken
  in yet, the log's last take-in). A take-in reads every table, so it saw the proposal
  without the row; none when the row came in with the log's first take-in.

A row dated in the future counts from when it was recorded; a row dated in the past cannot
reach back behind what the log had already recorded (a back-dated deploy cannot re-age
approvals); rows first seen together (a foreign file adopted, rows written between two
take-ins) keep their own times between the same bounds. The form and both stores log a
row in the transaction that writes it, at the time they give it, so for them the claimed
time is the counted one. A claimed time that is unreadable counts at ``hi`` too: the log
saw the row then, and were it "in no up to" (``timeutil``), the status now and the status
"as of now" (``?at=``) would differ; it gives a writer nothing a date in the future does
not. (Rows nobody attached a counted time to, as the demo's in memory, keep the claimed
time, unreadable or not.) The bounds are only as tight as take-ins are frequent: every
governed write, the notifications worker and ``audit_checkpoint`` take in.

``attach`` reads the bounds of any number of rows in one query and sets ``counted_at`` on
each row; ``time_of`` is what the rule reads as the time of a row (the claimed time for a
row nobody attached one to, as the demo's in-memory rows). The TypeScript store does the
same (runtime-store-ts/src/countedTime.ts).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection

from memory_app import timeutil
from memory_app.promotion import decision_log
from memory_app.timeutil import format_iso, instant_key

COUNTED = "counted_at"  # the attribute ``attach`` sets: canonical text, "" when unreadable
CLAIMED = "claimed_column"  # the column whose time the row claims (for pages)
POSITION = "log_index"  # its place in the decision log (None: not taken in yet)


@functools.cache
def _kind_of() -> dict[type, tuple[str, str]]:
    """model -> (log kind, the column holding the time a row claims); read once the models
    are loaded (``decision_log.KINDS``)."""
    return {model: (kind, column) for kind, (model, column) in decision_log.KINDS.items()}


# For each logged row: its moment and the previous take-in's (see the module docstring);
# then, once, the log's last take-in (the lower bound of rows not logged yet).
# Each kind's rows are found through the (kind, row_id) unique index, and the previous
# take-in through the entry's index in the table triggers keep beside the log (migration
# 0029: one lookup, where walking back passed every entry of the same take-in). For an
# entry it lacks, the walk: the primary key backwards to the first entry that fits.
_BRANCH = (
    'SELECT l.kind, l.row_id, l."index", l.logged_at, '
    'CASE WHEN b."index" IS NOT NULL THEN b.previous_take_in ELSE '
    "(SELECT p.logged_at FROM tommemory_audit_log p "
    'WHERE p."index" < l."index" AND p.logged_at < l.logged_at ORDER BY p."index" DESC LIMIT 1) '
    "END FROM tommemory_audit_log l "
    'LEFT JOIN tommemory_audit_log_previous b ON b."index" = l."index" '
    "WHERE l.kind = %s AND l.row_id IN ({})"
)
_LATEST = (
    "SELECT NULL, NULL, NULL, NULL, p.logged_at FROM tommemory_audit_log p "
    'WHERE p."index" = (SELECT MAX("index") FROM tommemory_audit_log)'
)


def counted(claimed: object, lo: str, hi: str) -> str:
    """The one rule: a claimed time clamped to ``[lo, hi]`` (canonical text; "" bounds are
    open). An unreadable claim counts at ``hi``, when tommemory saw the row."""
    key = instant_key(claimed)
    if not key:
        return hi
    if lo and key < lo:
        key = lo
    if hi and key > hi:  # after ``lo``: were the log's clock ever to run back, hi wins
        key = hi
    return key


def time_of(row: object, column: str) -> str:
    """The time the rule places a governed row at (canonical text, "" when unreadable)."""
    stamped = getattr(row, COUNTED, None)
    return instant_key(getattr(row, column)) if stamped is None else stamped


def in_order[T](rows: Iterable[T], column: str) -> list[T]:
    """Rows in counted-time order; rows counted at one moment in the order the log saw them
    (a row held up to the previous take-in came after what that take-in recorded; rows not
    taken in yet last), then of the times they claim, then by id (unreadable times first,
    as ``timeutil.chronological``)."""

    def key(row):
        position = getattr(row, POSITION, None)
        unseen = position is None
        claimed = instant_key(getattr(row, column))
        return (time_of(row, column), unseen, position or 0, claimed, str(row.pk))

    return sorted(rows, key=key)


def attach(rows: Iterable[object], now: datetime | None = None) -> list:
    """Set ``counted_at`` on each governed row (one query); return the rows.

    ``now`` (default: the clock) is the upper bound of a row the log has not taken in.
    """
    rows = list(rows)
    if not rows:
        return rows
    moment = format_iso(now or timeutil.now())
    ids: dict[str, list[str]] = {}
    for row in rows:
        kind, _ = _kind_of()[type(row)]
        if isinstance(row.pk, str):
            ids.setdefault(kind, []).append(row.pk)
    logged, before_now = _bounds(ids)
    for row in rows:
        kind, column = _kind_of()[type(row)]
        lo, hi, position = logged.get((kind, row.pk), (before_now, moment, None))
        setattr(row, COUNTED, counted(getattr(row, column), lo, hi))
        setattr(row, POSITION, position)
        setattr(row, CLAIMED, column)
    return rows


# Ids per statement: well below SQLite's limit on parameters (32,766); a queue export
# reads at most a few thousand per chunk of proposals, so this is one statement.
_BATCH = 10_000


def _bounds(ids: dict[str, Sequence[str]]):
    """``{(kind, row id): (lo, hi, log index)}`` for the logged rows, and the lower bound
    of the rest."""
    pairs = [(kind, row_id) for kind, row_ids in ids.items() for row_id in row_ids]
    found = []
    for start in range(0, max(len(pairs), 1), _BATCH):
        batch: dict[str, list[str]] = {}
        for kind, row_id in pairs[start : start + _BATCH]:
            batch.setdefault(kind, []).append(row_id)
        parts, params = [], []
        for kind, row_ids in batch.items():
            parts.append(_BRANCH.format(", ".join("%s" for _ in row_ids)))
            params += [kind, *row_ids]
        if start == 0:
            parts.append(_LATEST)
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            found += cursor.fetchall()
    logged = {
        (kind, row_id): (lo or "", hi, index) for kind, row_id, index, hi, lo in found if kind
    }
    before_now = next((lo or "" for kind, _, _, _, lo in found if kind is None), "")
    return logged, before_now


def differs(row: object) -> bool:
    """Whether a row counts at another time than the one it claims (pages show both)."""
    column = getattr(row, CLAIMED, None)
    if column is None:
        return False
    return getattr(row, COUNTED) != instant_key(getattr(row, column))
