"""The review wing's annotation tables (issue #23): score configs, annotations and their
scores. Our own tables beside v1 (contract/tommemory_schema.sql; both stores write them).

An annotation is a reviewer's note on a turn, a session or a workflow run: scores given
against score configs, a comment, and for a turn a correction (the answer it should have
given). Annotations and their scores are append-only (migration 0025's triggers): an edit is
a new annotation that supersedes the old one, once, so the chain is the history and the
"current" annotations are the ones nothing supersedes. Score configs are edited by review
admins, but a config's kind and allowed values are fixed once a score uses it.
"""

from __future__ import annotations

import json
import math

from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q

from memory_app.base_models import AppendOnlyModel, AppendOnlyQuerySet
from memory_app.errors import InvalidInput
from memory_app.ids import new_id
from memory_app.jsontext import parse_json_text
from memory_app.runtime.models import Turn  # review reads runtime, never the reverse


class ScoreDataType(models.TextChoices):
    CATEGORICAL = "categorical"
    NUMERIC = "numeric"
    BOOLEAN = "boolean"


class TargetKind(models.TextChoices):
    TURN = "turn"
    SESSION = "session"
    WORKFLOW_RUN = "workflow_run", "workflow run"


# How a boolean score is stored: the text and the number (both, so either column sorts it).
BOOLEAN_TEXT = {True: "true", False: "false"}


class ScoreConfigQuerySet(models.QuerySet):
    def offered(self) -> ScoreConfigQuerySet:
        """The configs a new score may use: not archived."""
        return self.filter(archived_at__isnull=True)


class ScoreConfig(models.Model):
    """What a score measures and the values it takes: a category from a list, a number
    within a range (either bound may be open), or yes/no."""

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    name = models.TextField(unique=True)
    data_type = models.TextField(choices=ScoreDataType)
    categories_json = models.TextField(null=True, blank=True)  # noqa: DJ001
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    description = models.TextField(blank=True)
    created_by = models.TextField()
    created_at = models.TextField()
    archived_at = models.TextField(null=True, blank=True)  # noqa: DJ001

    objects = ScoreConfigQuerySet.as_manager()

    # What a score fixes: once one uses the config, these do not change.
    FIXED_BY_SCORES = ("name", "data_type", "categories_json", "min_value", "max_value")

    class Meta:
        db_table = "tommemory_score_configs"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    @property
    def categories(self) -> list[str]:
        """The categories of a categorical config ([] for another kind or a broken list)."""
        parsed = parse_json_text(self.categories_json or "[]")
        value = parsed.value if parsed.valid else []
        return [c for c in value if isinstance(c, str)] if isinstance(value, list) else []

    def allowed(self) -> str:
        """The values a score of this config takes, in words (refusals and forms say it)."""
        if self.data_type == ScoreDataType.CATEGORICAL:
            return "one of " + ", ".join(json.dumps(c, ensure_ascii=False) for c in self.categories)
        if self.data_type == ScoreDataType.BOOLEAN:
            return "true or false"
        low = "-∞" if self.min_value is None else f"{self.min_value:g}"
        high = "∞" if self.max_value is None else f"{self.max_value:g}"
        return f"a finite number from {low} to {high}"

    def stored_value(self, value: object) -> tuple[str | None, float | None]:
        """The (value_text, value_number) a score of ``value`` is stored as; InvalidInput
        naming the config and its allowed values when the value is not one it takes."""
        if self.data_type == ScoreDataType.CATEGORICAL:
            if isinstance(value, str) and value in self.categories:
                return value, None
        elif self.data_type == ScoreDataType.BOOLEAN:
            if isinstance(value, bool):
                return BOOLEAN_TEXT[value], float(value)
        elif self.data_type == ScoreDataType.NUMERIC and _number_within(
            value, self.min_value, self.max_value
        ):
            return None, float(value)  # type: ignore[arg-type]
        raise InvalidInput(f"score {self.name!r} takes {self.allowed()}, not {_shown(value)}")

    def is_used(self) -> bool:
        return self.scores.exists()


def _number_within(value: object, low: float | None, high: float | None) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return False
    return (
        math.isfinite(number)
        and (low is None or number >= low)
        and (high is None or number <= high)
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class AnnotationQuerySet(AppendOnlyQuerySet):
    def current(self) -> AnnotationQuerySet:
        """The annotations no other annotation supersedes (an edit's latest version)."""
        return self.filter(~Exists(Annotation.objects.filter(supersedes=OuterRef("pk"))))

    def on(self, target_kind: str, target_id: str) -> AnnotationQuerySet:
        return self.filter(target_kind=target_kind, target_id=target_id)

    def for_session(self, session_id: str) -> AnnotationQuerySet:
        """Annotations on the session and on its turns, oldest first."""

        turns = Turn.objects.filter(session_id=session_id).values("id")
        return self.filter(
            Q(target_kind=TargetKind.SESSION, target_id=session_id)
            | Q(target_kind=TargetKind.TURN, target_id__in=turns)
        ).order_by("created_at", "id")

    def since(self, after: Annotation | None = None) -> AnnotationQuerySet:
        """Annotations written after ``after`` in the order (created_at, id) — every one,
        edits included (an edit names what it supersedes) — for a reader that follows them."""
        rows = self.order_by("created_at", "id")
        if after is None:
            return rows
        return rows.filter(
            Q(created_at__gt=after.created_at) | Q(created_at=after.created_at, id__gt=after.id)
        )

    def with_scores(self) -> AnnotationQuerySet:
        """Each annotation's scores (with their configs) read in one more query."""
        scores = AnnotationScore.objects.select_related("score_config").order_by(
            "score_config__name"
        )
        return self.prefetch_related(Prefetch("scores", queryset=scores))


class Annotation(AppendOnlyModel):
    """A reviewer's note on a turn, a session or a workflow run (see the module)."""

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    target_kind = models.TextField(choices=TargetKind)
    target_id = models.TextField()
    author = models.TextField()
    comment = models.TextField(blank=True)
    correction = models.TextField(null=True, blank=True)  # noqa: DJ001
    # The review queue item it was given for: plain text, the queue's table is migration 0026's.
    queue_item_id = models.TextField(null=True, blank=True)  # noqa: DJ001
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.DB_CASCADE,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    created_at = models.TextField()

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_annotations"
        indexes = [
            models.Index(fields=["target_kind", "target_id"], name="idx_annotations_target"),
            models.Index(fields=["created_at", "id"], name="idx_annotations_since"),
            # A queue item's reviews, and whether a reviewer did it (queue_models).
            models.Index(fields=["queue_item_id", "author"], name="idx_annotations_queue_item"),
        ]

    def __str__(self) -> str:
        return f"{self.author} on {self.target_kind} {self.target_id}"


class AnnotationScore(AppendOnlyModel):
    """One score of an annotation: a categorical score's category in value_text, a numeric
    one's number in value_number, a boolean's both ('true'/'false' and 1/0)."""

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    annotation = models.ForeignKey(
        Annotation, on_delete=models.DB_CASCADE, related_name="scores", db_index=False
    )
    score_config = models.ForeignKey(
        ScoreConfig, on_delete=models.DB_CASCADE, related_name="scores"
    )
    value_text = models.TextField(null=True, blank=True)  # noqa: DJ001
    value_number = models.FloatField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_annotation_scores"
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "score_config"], name="uniq_annotation_score"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score_config_id}: {self.value}"

    @property
    def value(self) -> str | float | bool | None:
        """The value as given: the category, the number, or True/False."""
        if self.value_text in BOOLEAN_TEXT.values() and self.value_number is not None:
            return self.value_text == "true"
        return self.value_number if self.value_text is None else self.value_text
