"""Timestamps: written in one canonical form, read in any ISO-8601 form.

Every writer of the shared file stores TEXT. This project writes ISO-8601 UTC
exactly as JavaScript's ``Date.prototype.toISOString()`` does
(``2026-11-24T20:13:04.123Z``), so that text order is time order. Other writers
may use a space, no fraction, more digits or an offset: ``parse_iso`` reads all
of them and returns ``None`` for anything else, so callers can show the raw text.
"""

import re
from datetime import UTC, datetime

_SPACE_SEPARATOR = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d)")
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def now_iso() -> str:
    """Return the current time in the canonical form."""
    return format_iso(datetime.now(UTC))


def format_iso(moment: datetime) -> str:
    """Format an aware (or UTC-naive) datetime in the canonical form."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: object) -> datetime | None:
    """Parse any ISO-8601 date or date-time into an aware UTC datetime, or None."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        return None
    text = _SPACE_SEPARATOR.sub(r"\1T\2", value.strip())
    # Python reads at most microseconds; nanosecond writers add more digits.
    text = _LONG_FRACTION.sub(r"\1", text)
    if text[-1:] in {"z", "Z"}:
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def normalize_iso(value: object) -> str:
    """Return the canonical form of a datetime or ISO-8601 text; raise ValueError otherwise."""
    moment = parse_iso(value)
    if moment is None:
        raise ValueError(f"not an ISO-8601 timestamp: {value!r}")
    return format_iso(moment)


_NEVER = datetime.max.replace(tzinfo=UTC)


def chronological[T](rows: list[T], attr: str) -> list[T]:
    """Sort rows by the instant in a timestamp column; unparseable values go last, as written."""
    return sorted(rows, key=lambda row: (parse_iso(getattr(row, attr)) or _NEVER,))
