"""One incident-style timeline over the append-only sources and profile versions.

Entries are ordered newest first by (instant, kind, id): the instant as ``timeutil``
reads it (so rows from writers with other time formats land in the right place, and
unreadable times come last), the kind and the id breaking ties. Pages continue after a
cursor holding that whole key, so rows sharing a timestamp are never skipped or repeated.

The instant is the time a row claims. A decision, break-glass decision or deploy outcome
also carries the time it counts at (``decision_time``), which every entry shows beside the
claimed one where they differ ("dated 2036-01-01 ..., recorded 2026-12-06 ..."). The
timeline is not ordered by it: the counted time depends on the decision log (another
table) and, for a row the log has not taken in yet, on the moment of reading, so no index
can hold it, and such rows are found only by reading the whole table (what
``decision_log.take_in`` does). Ordering by it would read every governed row on every page
instead of each source's newest ``limit + 1`` keys by index; a page reads the counted time
of the rows it shows instead, in one query.
"""

import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q

from memory_app import timeutil
from memory_app.expressions import canonical_time, instant_or_empty, other_times
from memory_app.profiles.models import BehaviorProfile, PersonalityProfile
from memory_app.promotion import decision_time
from memory_app.promotion.models import Approval, DeployOutcome, Override
from memory_app.review.models import Annotation
from memory_app.review.queries import outside_review
from memory_app.runtime.models import TaskEvent
from memory_app.timeutil import instant_key

KINDS = ("events", "approvals", "deploys", "profiles", "annotations")

# (kind filter, label, model, time column, its links); the labels order entries sharing an
# instant. Links are prefetched or outer-joined (``_with_links``): an inner join would hide
# a row whose parent is missing.
SOURCES = [
    ("events", "event", TaskEvent, "created_at", ("workflow_run",)),
    ("approvals", "approval", Approval, "decided_at", ("proposal__skill",)),
    ("approvals", "override", Override, "decided_at", ("proposal__skill",)),
    ("deploys", "deploy", DeployOutcome, "deployed_at", ("proposal__skill",)),
    ("profiles", "behavior", BehaviorProfile, "created_at", ()),
    ("profiles", "personality", PersonalityProfile, "created_at", ()),
    # Edits too (each is a new annotation). Our own table, written in canonical times by
    # both stores: its (created_at, id) index serves it, as the overrides' serves them.
    ("annotations", "annotation", Annotation, "created_at", ()),
]
MODELS = {label: model for _, label, model, _, _ in SOURCES}
FIELDS = {label: field for _, label, _, field, _ in SOURCES}
LINKS = {label: links for _, label, _, _, links in SOURCES}
# Rows a source shows, where not all: annotations given in a review queue only once their
# item has all its reviews (blind review, as on the transcript).
SHOWN = {"annotation": outside_review}
# The entries the rule reads at their counted time (``decision_time``).
GOVERNED = {"approval", "override", "deploy"}


def _with_links(label: str, qs):
    if label == "event":  # a nullable link, so an outer join
        return qs.select_related(*LINKS[label])
    if label == "annotation":  # what it says: its scores, one more query
        return qs.with_scores()
    return qs.prefetch_related(*LINKS[label])


Cursor = tuple[str, str, str]  # (instant key, kind label, id) of the last entry shown


@dataclass(frozen=True)
class Entry:
    kind: str
    when: object  # as stored
    row: object

    @property
    def key(self) -> Cursor:
        return (instant_key(self.when), self.kind, str(self.row.pk))

    def linked(self) -> list:
        """The rows the entry's links point at (None where another writer left one
        dangling): what the entry shows besides its own row."""
        found = []
        for path in LINKS[self.kind]:
            row = self.row
            for name in path.split("__"):
                try:
                    row = getattr(row, name) if row is not None else None
                except ObjectDoesNotExist:
                    row = None
                found.append(row)
        return found

    @property
    def counted(self) -> str | None:
        """The time a decision or deploy counts at (canonical text, "" when unreadable);
        None for entries the rule does not time (events, profile versions)."""
        return getattr(self.row, decision_time.COUNTED, None)

    @property
    def moved(self) -> bool:
        """Whether the entry counts at another time than the one it claims (and stands at)."""
        return decision_time.differs(self.row)


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

    Each query is already in (instant, id) order. Times in the canonical form (what every
    store writes) are their own instant, so those rows come in the order of the time
    column's index: one query per source, and per chosen event level (each walks the
    level's index in time order). The rest (other ISO forms, unreadable times: rare) come
    from a partial index of those rows only (``other_times_index``), ordered through
    ``tom_instant``, a Python call per row: one more query per source.
    """
    if not kinds and not levels:
        levels = DEFAULT_EVENT_LEVELS
    kinds = [k for k in kinds if k in KINDS] or list(KINDS)
    for kind, label, model, field, _ in SOURCES:
        if kind not in kinds:
            continue
        rows = model.objects.filter(SHOWN[label]()) if label in SHOWN else model.objects.all()
        if label == "event" and levels:
            rows = rows.filter(event_level__in=levels)
            by_level = [model.objects.at_level(level) for level in levels]
        else:
            by_level = [rows]
        written = [
            qs.filter(canonical_time(field)).filter(_after(label, after, field)) for qs in by_level
        ]
        others = (
            rows.filter(other_times(field))
            .alias(instant=instant_or_empty(field))
            .filter(_after(label, after, "instant"))
        )
        querysets = [qs.order_by(f"-{field}", "-id") for qs in written]
        yield label, [*querysets, others.order_by("-instant", "-id")], field


def timeline(
    kinds: list[str], levels: list[str], after: Cursor | None, limit: int
) -> tuple[list[Entry], Cursor | None]:
    """The newest ``limit`` entries after ``after``, newest first, and the next cursor.

    Each source's newest ``limit + 1`` (time, id) pairs are merged here; then only the rows
    the page shows are read, one query per source (and its links). Rows are never built
    for the entries a page leaves out.
    """
    keyed = [
        ((instant_key(when), label, str(pk)), pk)
        for label, querysets, field in _sources(kinds, levels, after)
        for qs in querysets
        for when, pk in qs.values_list(field, "pk")[: limit + 1]
    ]
    keyed.sort(key=lambda k: k[0], reverse=True)
    chosen = keyed[:limit]
    wanted: dict[str, list] = {}
    for (_, label, _), pk in chosen:
        wanted.setdefault(label, []).append(pk)
    rows = {
        (label, str(row.pk)): row
        for label, pks in wanted.items()
        for row in _with_links(label, MODELS[label].objects.filter(pk__in=pks))
    }
    # Every governed row of the page, whatever its number and kind: one query.
    decision_time.attach(row for (label, _), row in rows.items() if label in GOVERNED)
    page = [
        Entry(label, getattr(row, FIELDS[label]), row)
        for (_, label, pk), _ in chosen
        if (row := rows.get((label, pk))) is not None
    ]
    more = len(keyed) > limit
    return page, (page[-1].key if more and page else None)


def stream(kinds: list[str], levels: list[str], after: Cursor | None) -> Iterator[Entry]:
    """Every entry, newest first, read in chunks from each source (for exports)."""
    now = timeutil.now()  # one moment for the whole export (rows not taken in count at it)
    sources = [
        _entries(label, _with_links(label, qs).iterator(chunk_size=CHUNK), field, now)
        for label, querysets, field in _sources(kinds, levels, after)
        for qs in querysets
    ]
    yield from heapq.merge(*sources, key=lambda e: e.key, reverse=True)


CHUNK = 1000  # rows read at once from each source of an export (and counted in one query)


def _entries(label: str, rows: Iterable, field: str, now) -> Iterator[Entry]:
    for chunk in itertools.batched(rows, CHUNK):
        if label in GOVERNED:
            decision_time.attach(chunk, now)
        for row in chunk:
            yield Entry(label, getattr(row, field), row)
