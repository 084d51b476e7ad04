"""Timestamps: written in one canonical form, read in any ISO-8601 form, compared one way.

Every writer of the shared file stores TEXT. This project writes ISO-8601 UTC
exactly as JavaScript's ``Date.prototype.toISOString()`` does
(``2026-11-24T20:13:04.123Z``, years below 1000 padded to four digits), so that
text order is time order. Other writers may use a space, no fraction, more digits
or an offset: ``parse_iso`` reads all of them. A value it cannot read (not ISO-8601,
or an instant outside 0001-01-01..9999-12-31 UTC once its offset is applied) gives
``None``, and callers show the raw text, marked.

One rule everywhere (Python sorts, replays, windows, and SQL through the function
``tom_instant`` registered on every connection): times compare by ``instant_key``, the
canonical text. An unreadable time is unknown: it sorts before every readable time
(as SQL sorts NULL) and never satisfies a time condition, so it lies in no range, no
effective window and no "up to" of a replay. Rows sharing an instant are ordered by id.
"""

import re
from datetime import UTC, datetime

_SPACE_SEPARATOR = re.compile(r"^(\d{4}-\d{2}-\d{2}) +(\d)")
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
# Far longer than any ISO-8601 text: refuse early instead of scanning a huge value.
_MAX_LENGTH = 64
UNREADABLE = ""


def now_iso() -> str:
    """Return the current time in the canonical form."""
    return format_iso(datetime.now(UTC))


def format_iso(moment: datetime) -> str:
    """Format an aware (or UTC-naive) datetime in the canonical form."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    m = moment.astimezone(UTC)
    # Not strftime: it writes year 1 as "1", which no reader takes back.
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        f".{m.microsecond // 1000:03d}Z"
    )


def parse_iso(value: object) -> datetime | None:
    """Parse any ISO-8601 date or date-time into an aware UTC datetime, or None."""
    if isinstance(value, datetime):
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:
            return None
    if not isinstance(value, str) or len(value) > _MAX_LENGTH:
        return None
    text = _SPACE_SEPARATOR.sub(r"\1T\2", value.strip())
    # Python reads at most microseconds; nanosecond writers add more digits.
    text = _LONG_FRACTION.sub(r"\1", text)
    if text[-1:] in {"z", "Z"}:
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        # OverflowError: a valid text whose offset moves it out of years 1..9999.
        return None


def normalize_iso(value: object) -> str:
    """Return the canonical form of a datetime or ISO-8601 text; raise ValueError otherwise."""
    moment = parse_iso(value)
    if moment is None:
        raise ValueError(f"not an ISO-8601 timestamp: {value!r}")
    return format_iso(moment)


def instant_key(value: object) -> str:
    """The sort key of a stored time: canonical text, or "" (first) when unreadable."""
    moment = parse_iso(value)
    return UNREADABLE if moment is None else format_iso(moment)


def sql_instant(value: object) -> str | None:
    """``tom_instant`` in SQL: the canonical text, or NULL when unreadable (no condition holds)."""
    return instant_key(value) or None


def chronological[T](rows: list[T], attr: str) -> list[T]:
    """Sort rows by the instant in a timestamp column, then id; unreadable times first."""
    return sorted(rows, key=lambda row: (instant_key(getattr(row, attr)), str(row.pk)))
