"""The reads the annotation pages make: a page's annotations in a constant number of
queries, the sessions a score names, and the score facet's counts.

A session's annotations are those on the session and on its turns: an annotation names its
target by id with no foreign key (a turn, a session or a run), so a turn's session is read
through the turns' primary key, one row per annotation.
"""

from dataclasses import dataclass, field

from django.db import models
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, When

from memory_app.forms import FACET_VALUES
from memory_app.review.models import Annotation, AnnotationScore, ScoreDataType, TargetKind
from memory_app.review.queue_models import ReviewQueueItem
from memory_app.runtime.models import Session, Turn


@dataclass
class Shown:
    """The current annotations of a page, by target id, and the key of what they show: the
    current annotations are append-only rows, so their ids tell every value they show."""

    by_target: dict[tuple[str, str], list[Annotation]] = field(default_factory=dict)

    def of(self, kind: str, target_id: object) -> list[Annotation]:
        return self.by_target.get((kind, str(target_id)), [])

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(sorted(a.pk for rows in self.by_target.values() for a in rows))


def outside_review() -> Q:
    """The annotations pages outside a review queue show: those given in a queue only once
    its item has all its reviews. Review is blind: before, a reviewer could read another's
    scores for an item on its transcript (or count them in the score facet) before giving
    their own; after, nobody can be offered the item again."""
    # A correlated EXISTS, not an IN list: an IN lets a planner answer the OR from the
    # (queue_item_id, author) index and sort what it finds, where the activity timeline must
    # walk the (created_at, id) index newest first and stop after a page.
    complete = ReviewQueueItem.objects.complete().filter(pk=OuterRef("queue_item_id"))
    return Q(queue_item_id__isnull=True) | Q(Exists(complete))


def shown(targets: models.Q) -> Shown:
    """The current annotations on ``targets`` (a condition on target_kind and target_id)
    that pages outside a queue show, oldest first, with their scores: two queries, whatever
    the number of targets."""
    rows = (
        Annotation.objects.current()
        .filter(targets, outside_review())
        .with_scores()
        .order_by("created_at", "id")
    )
    found = Shown()
    for annotation in rows:
        found.by_target.setdefault((annotation.target_kind, annotation.target_id), []).append(
            annotation
        )
    return found


def _session_of(prefix: str = "") -> Case:
    """The session an annotation (``prefix`` leads to it) is about: its target for a session,
    the turn's session for a turn (NULL for a run, or a turn no longer there)."""
    turn_session = Turn.objects.filter(pk=OuterRef(f"{prefix}target_id")).values("session_id")
    return Case(
        When(**{f"{prefix}target_kind": TargetKind.SESSION}, then=F(f"{prefix}target_id")),
        When(**{f"{prefix}target_kind": TargetKind.TURN}, then=Subquery(turn_session[:1])),
        output_field=models.TextField(),
    )


def counts_by_session(sessions: list[Session]) -> dict[str, int]:
    """How many current annotations each session has, on itself and its turns: one query."""
    ids = [s.pk for s in sessions]
    if not ids:
        return {}
    turns = Turn.objects.filter(session_id__in=ids).values("pk")
    about = Q(target_kind=TargetKind.SESSION, target_id__in=ids) | Q(
        target_kind=TargetKind.TURN, target_id__in=turns
    )
    counted = (
        Annotation.objects.current()
        .filter(about, outside_review())
        .annotate(session=_session_of())
        .order_by()
        .values_list("session")
        .annotate(n=Count("*"))
    )
    return dict(sorted(counted))  # in order: the session list's fragment key


def _shown_number(number: float) -> str:
    """A number as a score's value reads: 4 for 4.0, otherwise its shortest exact form."""
    return str(int(number)) if number.is_integer() else repr(number)


@dataclass(frozen=True)
class Given:
    """A score's value as stored under a config's name (what ``?score=`` chooses)."""

    name: str
    data_type: str
    text: str | None
    number: float | None

    @property
    def key(self) -> str:
        """``<config name>:<value>``: a number in its shortest form, a boolean true/false."""
        if self.data_type == ScoreDataType.NUMERIC and self.number is not None:
            return f"{self.name}:{_shown_number(self.number)}"
        return f"{self.name}:{self.text}"

    def condition(self) -> Q:
        return Q(score_config__name=self.name, value_text=self.text, value_number=self.number)


def _current_scores() -> models.QuerySet:
    """The scores of the current annotations on sessions and turns, each with its session."""
    about = [TargetKind.SESSION, TargetKind.TURN]
    return AnnotationScore.objects.filter(
        annotation__in=Annotation.objects.current().filter(outside_review(), target_kind__in=about)
    ).annotate(session=_session_of("annotation__"))


def score_counts(sessions: models.QuerySet) -> dict[str, tuple[Given, int]]:
    """Each score given in a current annotation on ``sessions`` (or their turns), by its
    ``Given.key``, with the number of sessions it is given in: one GROUP BY, the most
    frequent first, at most ``FACET_VALUES``."""
    rows = (
        _current_scores()
        .filter(session__in=sessions.order_by().values("pk"))
        .order_by()
        .values_list("score_config__name", "score_config__data_type", "value_text", "value_number")
        .annotate(n=Count("session", distinct=True))
        .order_by("-n", "score_config__name", "value_text", "value_number")
    )
    counts = {}
    for name, data_type, text, number, n in rows[:FACET_VALUES]:
        given = Given(name, data_type, text, number)
        counts[given.key] = (given, n)
    return counts


def scored(sessions: models.QuerySet, given: Given) -> models.QuerySet:
    """The sessions with a current annotation (on it or a turn) giving the score ``given``."""
    return sessions.filter(pk__in=_current_scores().filter(given.condition()).values("session"))
