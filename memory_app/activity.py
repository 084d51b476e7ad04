"""One incident-style timeline over the append-only sources and profile versions."""

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from .models import (
    Approval,
    BehaviorProfile,
    DeployOutcome,
    PersonalityProfile,
    TaskEvent,
)
from .timeutil import parse_iso

KINDS = ("events", "approvals", "deploys", "profiles")
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    kind: str
    when: str  # as written
    moment: datetime | None
    row: object

    @property
    def sort_key(self) -> datetime:
        return self.moment or _EARLIEST


def _sources(kinds: list[str], levels: list[str], before: str | None):
    """Each chosen source as (kind, newest-first queryset, time field), indexed."""
    kinds = [k for k in kinds if k in KINDS] or list(KINDS)
    events = TaskEvent.objects.select_related("workflow_run")
    if levels:
        events = events.filter(event_level__in=levels)
    chosen = {
        "events": [("event", events, "created_at")],
        "approvals": [("approval", Approval.objects.all(), "decided_at")],
        "deploys": [("deploy", DeployOutcome.objects.all(), "deployed_at")],
        "profiles": [
            ("behavior", BehaviorProfile.objects.all(), "created_at"),
            ("personality", PersonalityProfile.objects.all(), "created_at"),
        ],
    }
    for kind in kinds:
        for label, qs, field in chosen[kind]:
            if before:
                qs = qs.filter(**{f"{field}__lt": before})
            yield label, qs.order_by(f"-{field}", "-id"), field


def _entries(label: str, rows, field: str) -> Iterator[Entry]:
    for row in rows:
        when = getattr(row, field)
        yield Entry(label, when, parse_iso(when), row)


def timeline(
    kinds: list[str], levels: list[str], before: str | None, limit: int
) -> tuple[list[Entry], str | None]:
    """The newest ``limit`` entries before ``before``, newest first, and the next cursor.

    One indexed query per source (each newest-first, bounded by ``limit``), merged by
    instant so rows from writers with other time formats land in the right place.
    """
    entries = [
        entry
        for label, qs, field in _sources(kinds, levels, before)
        for entry in _entries(label, qs[: limit + 1], field)
    ]
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    page = entries[:limit]
    more = len(entries) > limit
    return page, (page[-1].when if more and page else None)


def stream(kinds: list[str], levels: list[str], before: str | None) -> Iterator[Entry]:
    """Every entry, newest first, read in chunks from each source (for exports)."""
    sources = [
        _entries(label, qs.iterator(chunk_size=1000), field)
        for label, qs, field in _sources(kinds, levels, before)
    ]
    yield from heapq.merge(*sources, key=lambda e: e.sort_key, reverse=True)
