"""The overview's window: the span of time its story tells, from the query string.

``?window=24h`` (the default), ``7d`` or ``30d`` end at ``timeutil.now()``; ``?from=...&to=...``
(any ISO-8601 text ``timeutil`` reads, UTC unless it says otherwise) is a custom window.
Anything else falls back to the default with a message the page shows: a bad query string
never fails the page.

A window is cut into buckets by the first characters of a canonical time (an hour is its
first 13, ``2026-12-06T09``; a day its first 10), which SQL takes on either engine as a
plain ``substr`` of the stored text, and Python from ``timeutil.instant_key``; so both
engines, and rows in other time forms read in Python, fall into the same buckets. Each
window is compared with the one just before it, of the same length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from memory_app import timeutil
from memory_app.expressions import HOUR
from memory_app.timeutil import format_iso, parse_iso

PRESETS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
PRESET_LABELS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days"}
DEFAULT = "24h"
# Hourly buckets up to two days, daily ones beyond; a custom window is at most a year and a
# month long (at most ~400 buckets, each a bar a chart can still draw).
HOURLY_UP_TO = timedelta(days=2)
LONGEST = timedelta(days=400)
DAY = 10  # the length of a day's prefix of a canonical time (an hour's: ``HOUR``)
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    preset: str  # "24h", "7d", "30d", or "" for a custom window

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    @property
    def previous(self) -> Window:
        """The window of the same length just before this one."""
        return Window(self.start - self.span, self.start, "")

    @property
    def prefix(self) -> int:
        """How many characters of a canonical time name its bucket."""
        return HOUR if self.span <= HOURLY_UP_TO else DAY

    @property
    def unit(self) -> str:
        return "hour" if self.prefix == HOUR else "day"

    @property
    def bounds(self) -> tuple[str, str]:
        """start and end as canonical text: a canonical time lies in the window when it
        compares between them as text (both included; the window before ends where this
        one starts, excluded)."""
        return format_iso(self.start), format_iso(self.end)

    def buckets(self) -> list[str]:
        """Every bucket's key, oldest first: the prefixes of the times in [start, end]."""
        step = timedelta(hours=1) if self.prefix == HOUR else timedelta(days=1)
        first = _floor(self.start, self.prefix)
        count = (self.end - first) // step + 1  # no step past the end: year 9999 stays
        return [format_iso(first + n * step)[: self.prefix] for n in range(count)]

    def query(self) -> str:
        """The query string that chooses this window again."""
        if self.preset:
            return f"window={self.preset}"
        start, end = self.bounds
        return f"from={start}&to={end}"

    @property
    def label(self) -> str:
        if self.preset:
            return f"the last {PRESET_LABELS[self.preset]}"
        return "the chosen window"


def bucket_bounds(key: str) -> tuple[str, str]:
    """A bucket's first and last instant as canonical text (both inclusive, for list
    filters that take [from, to])."""
    start = parse_iso(key + (":00" if len(key) == HOUR else ""))
    step = timedelta(hours=1) if len(key) == HOUR else timedelta(days=1)
    # Its last millisecond, reached without passing it (the last day of year 9999 has no next).
    return format_iso(start), format_iso(start + (step - timedelta(milliseconds=1)))


def _floor(moment: datetime, prefix: int) -> datetime:
    if prefix == HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def chosen_window(query) -> tuple[Window, list[str]]:
    """The window a query string asks for, and what was wrong with it (then the default).

    ``query`` is a ``QueryDict`` or any mapping of names to texts; only the last value of
    a repeated name counts, as Django forms read it.
    """
    now = timeutil.now()
    default = Window(now - PRESETS[DEFAULT], now, DEFAULT)
    raw_from, raw_to = _text(query, "from"), _text(query, "to")
    if raw_from or raw_to:
        return _custom(raw_from, raw_to, default)
    preset = _text(query, "window")
    if not preset:
        return default, []
    if preset not in PRESETS:
        choices = ", ".join(PRESETS)
        return default, [f"There is no window {preset!r}: choose {choices}, or a from and to."]
    return Window(now - PRESETS[preset], now, preset), []


def _text(query, name: str) -> str:
    value = query.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _custom(raw_from: str, raw_to: str, default: Window) -> tuple[Window, list[str]]:
    start, end = parse_iso(raw_from), parse_iso(raw_to)
    errors = [
        f"The window's {name} is not a date or time this page reads ({_shown(raw)}): "
        "use ISO-8601, e.g. 2026-11-24 or 2026-11-24T09:00Z."
        for name, raw, moment in (("from", raw_from, start), ("to", raw_to, end))
        if moment is None
    ]
    if errors:
        return default, errors
    if end <= start:
        return default, ["The window's to is not after its from."]
    if end - start > LONGEST:
        return default, [f"The window is longer than {LONGEST.days} days: choose a shorter one."]
    # The previous window must still be a time (year 1 on): refuse one that starts so early.
    if start - EARLIEST < end - start:
        return default, ["The window starts too early to compare it with the one before."]
    return Window(start, end, ""), []


def _shown(raw: str) -> str:
    """A bad value as the message quotes it: short, whatever its length."""
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")
