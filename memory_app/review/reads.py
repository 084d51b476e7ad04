"""What a runtime reads of its reviewers (issue #23): the annotations on a session, and the
annotations written since a point, so O.X.I.D.E can learn from people. Both stores read
alike (the TypeScript store's review.ts; contract/scenarios/annotations*.json).

An annotation is read with its scores as the writer gave them: config name → the category,
the number, or true/false.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import models

from memory_app.converters import storable
from memory_app.errors import InvalidInput, NotFound
from memory_app.fields import sql_integer
from memory_app.review.models import Annotation, AnnotationQuerySet
from memory_app.runtime.models import Session
from memory_app.writing import get

MAX_LIMIT = 1000


@dataclass(frozen=True)
class AnnotationRead:
    annotation: Annotation
    scores: dict[str, str | float | bool | None]


@dataclass(frozen=True)
class AnnotationsSince:
    """A page of annotations in the order they were written, and the cursor to ask from
    next time (the last one's id; the one asked from when there was nothing new)."""

    annotations: list[AnnotationRead]
    next_cursor: str | None

    def __iter__(self) -> Iterator:
        """``annotations, cursor = store.annotations_since(...)``."""
        return iter((self.annotations, self.next_cursor))


def _read(annotations: AnnotationQuerySet) -> list[AnnotationRead]:
    return [
        AnnotationRead(a, {s.score_config.name: s.value for s in a.scores.all()})
        for a in annotations
    ]


def _get[M: models.Model](model: type[M], pk: object) -> M:
    """The row, or NotFound (also for an id no row can have: NUL on PostgreSQL)."""
    if isinstance(pk, str) and not storable(pk):
        raise NotFound(f"no {model._meta.db_table} row with id {pk!r}")
    return get(model, pk)


def annotations_for_session(session_id: str) -> list[AnnotationRead]:
    """The current annotations on the session and on its turns (edits replace what they
    supersede), oldest first."""
    session = _get(Session, session_id)
    return _read(Annotation.objects.for_session(session.pk).current().with_scores())


def annotations_since(after: str | None = None, limit: int = 100) -> AnnotationsSince:
    """Up to ``limit`` annotations written after the one whose id is ``after`` (from the
    first when None), edits included: an edit names the annotation it supersedes."""
    if not sql_integer(limit) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}; got {limit!r}")
    cursor = None if after is None else _get(Annotation, after)
    page = _read(Annotation.objects.since(cursor).with_scores()[:limit])
    return AnnotationsSince(page, page[-1].annotation.pk if page else after)
