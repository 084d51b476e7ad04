"""Turns and tokens of a window, from the turns per hour the database keeps (migration
0028: ``tommemory_turn_hours``, a row per session and hour, kept by triggers for every
writer) for the hours the window holds whole, and from the turns themselves for the few
hours it cuts (its first and last, and the one where the window before ends): a window is
then a few hundred rows a day, not a row per turn, however many turns it holds.

Turns in other time forms are read as ``story.tally`` reads them (the table keeps canonical
times alone), and counted as undated when unreadable; so the numbers are those of
``story.tally`` over the turns, which the tests compare after any sequence of writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from memory_app.expressions import HOUR
from memory_app.overview.story import (
    BEFORE,
    NOW,
    Tally,
    add_other_times,
    finite,
    tally,
    tally_span,
)
from memory_app.overview.window import Window
from memory_app.runtime.models import Session, Turn
from memory_app.timeutil import format_iso, parse_iso

TABLE = "tommemory_turn_hours"
MS = timedelta(milliseconds=1)
HOUR_SPAN = timedelta(hours=1)

# Grouped by bucket, the hour's first (window.prefix) characters: a 30-day window's days are
# a few dozen rows, or a few hundred by actor and channel, not thousands of hours.
_OVER_TIME = (
    f"SELECT substr(hour, 1, %s), SUM(turns), SUM(tokens) FROM {TABLE} "  # noqa: S608 (ours)
    "WHERE hour >= %s AND hour <= %s GROUP BY 1"
)
# By the session's actor and channel: a lookup a session-hour (an inner join, as a turn's
# ``session__actor`` reads).
_BY_SESSION = (
    "SELECT substr(h.hour, 1, %s), s.actor, s.channel, SUM(h.turns), "  # noqa: S608
    f"SUM(h.tokens) FROM {TABLE} h JOIN sessions s ON s.id = h.session_id "
    "WHERE h.hour >= %s AND h.hour <= %s GROUP BY 1, s.actor, s.channel"
)


def _step(moment: datetime, hours: int) -> datetime | None:
    """An hour on or back, None past the ends of time (years 1 and 9999)."""
    try:
        return moment + timedelta(hours=hours)
    except OverflowError:
        return None


def whole_hours(first: str, last: str) -> tuple[tuple[str, str] | None, list[tuple[str, str]]]:
    """The hours ``[first, last]`` (canonical texts, both included) holds whole, as the first
    and last hour's key (None: no hour whole), and the pieces left at either end (each
    within one hour), as ``[from, to]`` texts."""
    start, end = parse_iso(first), parse_iso(last)
    floor_start = start.replace(minute=0, second=0, microsecond=0)
    floor_end = end.replace(minute=0, second=0, microsecond=0)
    first_whole = floor_start if floor_start == start else _step(floor_start, 1)
    last_whole = floor_end if end - floor_end >= HOUR_SPAN - MS else _step(floor_end, -1)
    if first_whole is None or last_whole is None or first_whole > last_whole:
        return None, [(first, last)]  # no hour whole: one piece, at most two hours long
    pieces = []
    if start < first_whole:
        pieces.append((first, format_iso(first_whole - MS)))
    if last_whole + (HOUR_SPAN - MS) < end:
        pieces.append((format_iso(last_whole + HOUR_SPAN), last))
    return (format_iso(first_whole)[:HOUR], format_iso(last_whole)[:HOUR]), pieces


def _periods(window: Window, before: bool) -> list[tuple[str, str, str]]:
    start, end = window.bounds
    found = [(NOW, start, end)]
    if before:
        found.append((BEFORE, window.previous.bounds[0], format_iso(window.start - MS)))
    return found


def turns(window: Window, *, by_session: bool = False, before: bool = True) -> Tally:
    """Turns and their tokens per bucket in ``window`` (and the one before): ``story.tally``
    of the turns with ``summed="token_count"``, grouped by their session's actor and channel
    when ``by_session``."""
    found = Tally()
    group = ("session__actor", "session__channel") if by_session else ()
    for period, first, last in _periods(window, before):
        hours, pieces = whole_hours(first, last)
        if hours:
            with connection.cursor() as cursor:
                cursor.execute(_BY_SESSION if by_session else _OVER_TIME, [window.prefix, *hours])
                for bucket, *rest in cursor.fetchall():
                    *values, n, total = rest
                    found.add((period, bucket, *values), int(n), finite(float(total)))
        for piece_first, piece_last in pieces:
            tally_span(found, Turn.objects.all(), "created_at", window, period,
                       (piece_first, piece_last), group, "token_count")  # fmt: skip
    lo = window.previous.bounds[0] if before else window.bounds[0]
    add_other_times(found, Turn.objects.all(), "created_at", window, lo, group, "token_count")
    return found


@dataclass(frozen=True)
class Conversations:
    sessions: Tally  # grouped by (actor, channel)
    turns: Tally  # with tokens summed
    turns_by: Tally  # the window's alone, grouped by their session's (actor, channel)


def conversations(window: Window) -> Conversations:
    """Sessions by start (from their index), turns and tokens by their time (from the turns
    per hour, ``turns``), each by actor and channel."""
    return Conversations(
        sessions=tally(Session.objects.all(), "started_at", window, ("actor", "channel")),
        turns=turns(window),
        turns_by=turns(window, by_session=True, before=False),
    )
