"""Annotations beside what they are about, on the runtime's pages: the transcript, a run's
page and the session list read them through these tags (the runtime wing never imports
the review wing, which reads runtime). Each reads a whole page's annotations at once."""

from django import template
from django.db.models import Q

from memory_app.review import queries
from memory_app.review.models import Annotation, TargetKind

register = template.Library()


@register.simple_tag
def annotations_on(kind: str, row) -> list[Annotation]:
    """The current annotations on one session or run, oldest first (two queries)."""
    return queries.shown(Q(target_kind=kind, target_id=row.pk)).of(kind, row.pk)


@register.simple_tag
def turn_annotations(turns: list) -> queries.Shown:
    """The current annotations on a page of turns (two queries, whatever the page)."""
    return queries.shown(Q(target_kind=TargetKind.TURN, target_id__in=[t.pk for t in turns]))


@register.filter
def of_turn(shown: queries.Shown, turn) -> list[Annotation]:
    return shown.of(TargetKind.TURN, turn.pk)


@register.simple_tag
def annotation_counts(sessions: list) -> dict[str, int]:
    """How many current annotations each session has, on itself and its turns (one query)."""
    return queries.counts_by_session(sessions)


@register.filter
def count_of(counts: dict[str, int], session) -> int:
    return counts.get(session.pk, 0)
