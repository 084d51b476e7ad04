"""Timestamps: written in one canonical form, read in any ISO-8601 form, compared one way.

Every writer of the shared file stores TEXT. This project writes ISO-8601 UTC
exactly as JavaScript's ``Date.prototype.toISOString()`` does
(``2026-11-24T20:13:04.123Z``, years below 1000 padded to four digits), so that
text order is time order. Other writers may use a space, no fraction, more digits
or an offset: ``parse_iso`` reads all of them. A value it cannot read (not ISO-8601,
or an instant outside 0001-01-01..9999-12-31 UTC once its offset is applied) gives
``None``, and callers show the raw text, marked.

What reads as a time is one grammar, ``ISO_8601`` below, not whatever a library happens
to take, because the database reads times too and must agree to the character: SQLite
through ``tom_instant`` (this module, registered on every connection), PostgreSQL through
the PL/pgSQL function of the same name (migration 0013), which uses the same regular
expression. A date in calendar (``2026-11-24``, ``20261124``) or ISO week form
(``2026-W48-2``, ``2026W482``); optionally ``T``, ``t`` or spaces and a time (``20``,
``20:13``, ``20:13:04``, ``201304``, a fraction after ``.`` or ``,`` of any length, read
to the microsecond); optionally ``Z`` or an offset (``+01``, ``+01:00``, ``-0500``,
``+01:00:30.5``) below 24 hours. Surrounding ASCII whitespace is ignored; digits are
ASCII.

One rule everywhere (Python sorts, replays, windows, and SQL through the function
``tom_instant`` registered on every connection): times compare by ``instant_key``, the
canonical text. An unreadable time is unknown: it sorts before every readable time
(as SQL sorts NULL) and never satisfies a time condition, so it lies in no range, no
effective window and no "up to" of a replay. Rows sharing an instant are ordered by id.
"""

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone

# One grammar for a readable time (see the module docstring); migration 0013 carries the
# same expression to PostgreSQL.
ISO_8601 = (
    r"([0-9]{4})"
    r"(?:-([0-9]{2})-([0-9]{2})|([0-9]{2})([0-9]{2})|-?W([0-9]{2})(?:-?([0-9]))?)"
    r"(?:(?:[Tt]| +)([0-9]{2})(?::?([0-9]{2})(?::?([0-9]{2})(?:[.,]([0-9]+))?)?)?"
    r"([Zz]|[+-][0-9]{2}(?::?[0-9]{2}(?::?[0-9]{2}(?:[.,][0-9]+)?)?)?)?)?"
)
ZONE = r"([+-])([0-9]{2})(?::?([0-9]{2})(?::?([0-9]{2})(?:[.,]([0-9]+))?)?)?"
_ISO_8601, _ZONE = re.compile(ISO_8601), re.compile(ZONE)
WHITESPACE = " \t\n\r\f\v"
# Far longer than any ISO-8601 text: refuse early instead of scanning a huge value.
_MAX_LENGTH = 64
UNREADABLE = ""


def _wall_clock() -> datetime:
    return datetime.now(UTC)


# The one reader of the wall clock: whatever asks what time it is asks ``now``. Tests set
# ``clock`` to a clock of their own (tests/conftest.py), so no test depends on the day it
# runs.
clock: Callable[[], datetime] = _wall_clock


@contextmanager
def clock_reading(reading: Callable[[], datetime]) -> Iterator[None]:
    """Run with ``clock`` replaced by ``reading``: demo data written through the store as
    of the demo's anchor, not of the day it is seeded."""
    global clock
    before, clock = clock, reading
    try:
        yield
    finally:
        clock = before


def now() -> datetime:
    """The current moment, aware, in UTC."""
    return clock()


def now_iso() -> str:
    """Return the current time in the canonical form."""
    return format_iso(now())


def format_iso(moment: datetime) -> str:
    """Format an aware (or UTC-naive) datetime in the canonical form."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Not strftime: it writes year 1 as "1", which no reader takes back. isoformat pads
    # the year to four digits and ends an aware UTC time in "+00:00".
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(value: object) -> datetime | None:
    """Parse any ISO-8601 date or date-time into an aware UTC datetime, or None."""
    if isinstance(value, datetime):
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:
            return None
    if not isinstance(value, str) or len(value) > _MAX_LENGTH:
        return None
    return _parse_text(value)


# A page reads the same few texts again and again (each turn against every profile
# window): a bounded cache of the pure parse spares most of the work.
@functools.lru_cache(maxsize=16_384)
def _parse_text(value: str) -> datetime | None:
    found = _ISO_8601.fullmatch(value.strip(WHITESPACE))
    if found is None:
        return None
    year, month, day, b_month, b_day, week, weekday, hour, minute, second, fraction, zone = (
        found.groups()
    )
    try:
        if week is not None:
            date_ = date.fromisocalendar(int(year), int(week), int(weekday or 1))
        else:
            date_ = date(int(year), int(month or b_month), int(day or b_day))
        moment = datetime(
            date_.year, date_.month, date_.day,
            int(hour or 0), int(minute or 0), int(second or 0), _microseconds(fraction),
            tzinfo=_zone(zone),
        )  # fmt: skip
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        # OverflowError: a valid text whose offset moves it out of years 1..9999.
        return None


def _microseconds(fraction: str | None) -> int:
    """A decimal fraction of a second, read to the microsecond (later digits dropped)."""
    return int((fraction or "")[:6].ljust(6, "0"))


def _zone(text: str | None) -> timezone:
    if text is None or text in {"Z", "z"}:
        return UTC
    sign, hours, minutes, seconds, fraction = _ZONE.fullmatch(text).groups()
    if int(minutes or 0) > 59 or int(seconds or 0) > 59:
        raise ValueError(f"not an offset: {text}")
    offset = timedelta(
        hours=int(hours),
        minutes=int(minutes or 0),
        seconds=int(seconds or 0),
        microseconds=_microseconds(fraction),
    )
    return timezone(-offset if sign == "-" else offset)  # ValueError from 24 hours on


def normalize_iso(value: object) -> str:
    """Return the canonical form of a datetime or ISO-8601 text; raise ValueError otherwise."""
    moment = parse_iso(value)
    if moment is None:
        raise ValueError(f"not an ISO-8601 timestamp: {value!r}")
    return format_iso(moment)


def instant_key(value: object) -> str:
    """The sort key of a stored time: canonical text, or "" (first) when unreadable."""
    if isinstance(value, str) and len(value) <= _MAX_LENGTH:
        return _key_of_text(value)
    moment = parse_iso(value)
    return UNREADABLE if moment is None else format_iso(moment)


@functools.lru_cache(maxsize=16_384)
def _key_of_text(value: str) -> str:
    moment = _parse_text(value)
    return UNREADABLE if moment is None else format_iso(moment)


def sql_instant(value: object) -> str | None:
    """``tom_instant`` in SQL: the canonical text, or NULL when unreadable (no condition holds)."""
    return instant_key(value) or None


def chronological[T](rows: list[T], attr: str) -> list[T]:
    """Sort rows by the instant in a timestamp column, then id; unreadable times first."""
    return sorted(rows, key=lambda row: (instant_key(getattr(row, attr)), str(row.pk)))


def seconds_between(start: object, end: object) -> float | None:
    """Seconds from start to end, or None when either is missing or unparseable."""
    begin, finish = parse_iso(start), parse_iso(end)
    if begin is None or finish is None:
        return None
    return (finish - begin).total_seconds()
