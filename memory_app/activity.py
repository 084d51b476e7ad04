"""One incident-style timeline over the append-only sources and profile versions.

Entries are ordered newest first by (instant, kind, id): the instant as ``timeutil``
reads it (so rows from writers with other time formats land in the right place, and
unreadable times come last), the kind and the id breaking ties. Pages continue after a
cursor holding that whole key, so rows sharing a timestamp are never skipped or repeated.
"""

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q

from .expressions import canonical_time, instant_or_empty
from .models import (
    Approval,
    BehaviorProfile,
    DeployOutcome,
    Override,
    PersonalityProfile,
    TaskEvent,
)
from .timeutil import instant_key

KINDS = ("events", "approvals", "deploys", "profiles")

# (kind filter, label, rows, time column); the labels order entries sharing an instant.
# Links are prefetched, not joined: a join would hide a row whose parent is missing.
SOURCES = [
    ("events", "event", lambda: TaskEvent.objects.select_related("workflow_run"), "created_at"),
    (
        "approvals",
        "approval",
        lambda: Approval.objects.prefetch_related("proposal__skill"),
        "decided_at",
    ),
    (
        "approvals",
        "override",
        lambda: Override.objects.prefetch_related("proposal__skill"),
        "decided_at",
    ),
    (
        "deploys",
        "deploy",
        lambda: DeployOutcome.objects.prefetch_related("proposal__skill"),
        "deployed_at",
    ),
    ("profiles", "behavior", lambda: BehaviorProfile.objects.all(), "created_at"),
    ("profiles", "personality", lambda: PersonalityProfile.objects.all(), "created_at"),
]

Cursor = tuple[str, str, str]  # (instant key, kind label, id) of the last entry shown


@dataclass(frozen=True)
class Entry:
    kind: str
    when: object  # as stored
    row: object

    @property
    def key(self) -> Cursor:
        return (instant_key(self.when), self.kind, str(self.row.pk))


def _after(label: str, cursor: Cursor | None, instant: str) -> Q:
    """Rows of one source that come after ``cursor`` in newest-first order.

    ``instant`` names what holds the row's instant: the time column itself for canonical
    times, the ``instant`` alias (``tom_instant``) for the others.
    """
    if cursor is None:
        return Q()
    at, kind, pk = cursor
    if label < kind:
        return Q(**{f"{instant}__lte": at})
    if label > kind:
        return Q(**{f"{instant}__lt": at})
    return Q(**{f"{instant}__lt": at}) | Q(**{instant: at, "id__lt": pk})


# With no filter chosen the timeline shows what people act on: decisions, deploys, profile
# changes, and only the events that need attention, not every info event.
DEFAULT_EVENT_LEVELS = ["high", "critical"]


def _sources(kinds: list[str], levels: list[str], after: Cursor | None):
    """Each chosen source as (label, [newest-first querysets], time column).

    Two queries per source, each already in (instant, id) order. Times in the canonical
    form (what every store writes) are their own instant, so those rows come in the order
    of the time column's index. The rest (other ISO forms, unreadable times: rare) are
    read through ``tom_instant``, which is a Python call per row.
    """
    if not kinds and not levels:
        levels = DEFAULT_EVENT_LEVELS
    kinds = [k for k in kinds if k in KINDS] or list(KINDS)
    for kind, label, rows, field in SOURCES:
        if kind not in kinds:
            continue
        qs = rows()
        if label == "event" and levels:
            qs = qs.filter(event_level__in=levels)
        qs = qs.alias(canonical=canonical_time(field))
        written = qs.filter(canonical=True).filter(_after(label, after, field))
        others = (
            qs.filter(canonical=False)
            .alias(instant=instant_or_empty(field))
            .filter(_after(label, after, "instant"))
        )
        yield (
            label,
            [written.order_by(f"-{field}", "-id"), others.order_by("-instant", "-id")],
            field,
        )


def _entries(label: str, rows, field: str) -> Iterator[Entry]:
    for row in rows:
        yield Entry(label, getattr(row, field), row)


def timeline(
    kinds: list[str], levels: list[str], after: Cursor | None, limit: int
) -> tuple[list[Entry], Cursor | None]:
    """The newest ``limit`` entries after ``after``, newest first, and the next cursor.

    Two queries per source, each newest first and bounded by ``limit``, merged here.
    """
    entries = [
        entry
        for label, querysets, field in _sources(kinds, levels, after)
        for qs in querysets
        for entry in _entries(label, qs[: limit + 1], field)
    ]
    entries.sort(key=lambda e: e.key, reverse=True)
    page = entries[:limit]
    more = len(entries) > limit
    return page, (page[-1].key if more and page else None)


def stream(kinds: list[str], levels: list[str], after: Cursor | None) -> Iterator[Entry]:
    """Every entry, newest first, read in chunks from each source (for exports)."""
    sources = [
        _entries(label, qs.iterator(chunk_size=1000), field)
        for label, querysets, field in _sources(kinds, levels, after)
        for qs in querysets
    ]
    yield from heapq.merge(*sources, key=lambda e: e.key, reverse=True)
