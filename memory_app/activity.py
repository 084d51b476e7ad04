"""One incident-style timeline over the append-only sources and profile versions."""

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


@dataclass(frozen=True)
class Entry:
    kind: str
    when: str  # as written
    moment: datetime | None
    row: object


def _latest(qs, field: str, before: str | None, limit: int) -> list:
    if before:
        qs = qs.filter(**{f"{field}__lt": before})
    return list(qs.order_by(f"-{field}", "-id")[:limit])


def timeline(
    kinds: list[str], levels: list[str], before: str | None, limit: int
) -> tuple[list[Entry], str | None]:
    """The newest ``limit`` entries before ``before``, newest first, and the next cursor.

    One indexed query per source (each newest-first, bounded by ``limit``), merged by
    instant so rows from writers with other time formats land in the right place.
    """
    kinds = [k for k in kinds if k in KINDS] or list(KINDS)
    entries: list[Entry] = []
    if "events" in kinds:
        events = TaskEvent.objects.select_related("workflow_run")
        if levels:
            events = events.filter(event_level__in=levels)
        for e in _latest(events, "created_at", before, limit):
            entries.append(Entry("event", e.created_at, parse_iso(e.created_at), e))
    if "approvals" in kinds:
        for a in _latest(Approval.objects.all(), "decided_at", before, limit):
            entries.append(Entry("approval", a.decided_at, parse_iso(a.decided_at), a))
    if "deploys" in kinds:
        for d in _latest(DeployOutcome.objects.all(), "deployed_at", before, limit):
            entries.append(Entry("deploy", d.deployed_at, parse_iso(d.deployed_at), d))
    if "profiles" in kinds:
        for model, kind in ((BehaviorProfile, "behavior"), (PersonalityProfile, "personality")):
            for p in _latest(model.objects.all(), "created_at", before, limit):
                entries.append(Entry(kind, p.created_at, parse_iso(p.created_at), p))
    entries.sort(key=lambda e: e.moment or datetime.min.replace(tzinfo=UTC), reverse=True)
    page = entries[:limit]
    more = len(entries) > limit
    return page, (page[-1].when if more and page else None)
