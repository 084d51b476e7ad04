"""The review wing's queue tables (issue #23, migration 0026): review queues, the score
configs each asks for, their items, and reviewers' reservations of items.

An item is a turn, a session or a workflow run, in a queue once ("never twice": a unique
key). It is done for a reviewer when that reviewer gave an annotation for it (the
annotation's ``queue_item_id``), and done when ``reviewers_per_item`` reviewers did. A
reviewer who takes the next item reserves it for the queue's ``reservation_seconds``;
reservations are append-only (a reservation ends by its time, never by a change), so who
held what, when, is kept. The queries that decide what a reviewer is offered live here,
as QuerySet methods, and are the one home of that rule (``offered_to``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Count, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from memory_app.base_models import AppendOnlyModel, AppendOnlyQuerySet
from memory_app.ids import new_id
from memory_app.review.models import (
    Annotation,
    AnnotationScore,
    ScoreConfig,
    ScoreDataType,
    TargetKind,
)

DEFAULT_RESERVATION_SECONDS = 900


class ReviewQueueQuerySet(models.QuerySet):
    def with_progress(self) -> ReviewQueueQuerySet:
        """Each queue's ``item_total`` and ``items_done`` (reviewed by as many reviewers as
        it needs): one query for the list, whatever the number of queues."""
        done = (
            ReviewQueueItem.objects.filter(queue=OuterRef("pk"))
            .with_progress()
            .filter(reviewed__gte=OuterRef("reviewers_per_item"))
            .order_by()
            .values("queue")
            .annotate(n=Count("*"))
            .values("n")
        )
        total = (
            ReviewQueueItem.objects.filter(queue=OuterRef("pk"))
            .order_by()
            .values("queue")
            .annotate(n=Count("*"))
            .values("n")
        )
        return self.annotate(
            item_total=Coalesce(Subquery(total), Value(0)),
            items_done=Coalesce(Subquery(done), Value(0)),
        )


class ReviewQueue(models.Model):
    """A named set of items to review, the score configs to give, and how many reviewers
    each item needs."""

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    name = models.TextField(unique=True)
    description = models.TextField(blank=True)
    reviewers_per_item = models.IntegerField()
    reservation_seconds = models.IntegerField(default=DEFAULT_RESERVATION_SECONDS)
    created_by = models.TextField()
    created_at = models.TextField()

    objects = ReviewQueueQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_review_queues"
        ordering = ("name",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reviewers_per_item__gte=1), name="queue_reviewers_at_least_one"
            ),
            models.CheckConstraint(
                condition=models.Q(reservation_seconds__gte=1), name="queue_reservation_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def score_configs(self) -> list[ScoreConfig]:
        """The configs a reviewer scores in this queue, in the queue's order."""
        return [c.score_config for c in self.configs.select_related("score_config")]

    def annotations(self) -> models.QuerySet:
        """Every annotation given for this queue's items (edits' old versions too)."""
        return Annotation.objects.filter(queue_item_id__in=self.items.values("pk"))

    def corrections(self) -> models.QuerySet:
        """The current annotations with a correction given for this queue's items that have
        all their reviews, oldest first: a change is proposed from them. Blind review: an
        item's reviews are read outside it only once nobody can be offered it again."""
        complete = self.items.complete().values("pk")
        return (
            Annotation.objects.current()
            .filter(queue_item_id__in=complete, correction__isnull=False)
            .order_by("created_at", "id")
        )

    def reviewer_progress(self) -> list[tuple[str, int]]:
        """(reviewer, items they reviewed), the most first: one query."""
        counted = (
            self.annotations()
            .order_by()
            .values("author")
            .annotate(n=Count("queue_item_id", distinct=True))
            .order_by("-n", "author")
        )
        return [(row["author"], row["n"]) for row in counted]

    def ratings(self) -> dict[str, dict[str, dict[str, str | float]]]:
        """The scores of the current annotations given in this queue, by score config id,
        then item id, then reviewer: what agreement compares. One query; a reviewer's
        later annotation of an item wins over an earlier one."""
        rows = (
            AnnotationScore.objects.filter(
                annotation__in=self.annotations().current(),
                score_config__in=self.configs.values("score_config"),
            )
            .order_by("annotation__created_at", "annotation__id")
            .values_list(
                "score_config_id",
                "score_config__data_type",
                "annotation__queue_item_id",
                "annotation__author",
                "value_text",
                "value_number",
            )
        )
        found: dict[str, dict[str, dict[str, str | float]]] = {}
        for config, kind, item, author, text, number in rows:
            value = number if kind == ScoreDataType.NUMERIC else text
            found.setdefault(config, {}).setdefault(item, {})[author] = value
        return found


class ReviewQueueConfig(models.Model):
    """A score config a queue asks for, at its place in the queue's form."""

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    queue = models.ForeignKey(
        ReviewQueue, on_delete=models.DB_CASCADE, related_name="configs", db_index=False
    )
    score_config = models.ForeignKey(ScoreConfig, on_delete=models.DB_CASCADE, related_name="+")
    position = models.IntegerField()

    class Meta:
        db_table = "tommemory_review_queue_configs"
        ordering = ("position",)
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "score_config"], name="uniq_review_queue_config"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.queue_id}: {self.score_config_id}"


def _annotations_for_item() -> models.QuerySet:
    """Annotations given for the outer item. Any version counts, an edit's old one too: an
    edit is by the same author, so who did an item does not depend on whether the edit
    carries the item's id."""
    return Annotation.objects.filter(queue_item_id=OuterRef("pk"))


class ReviewQueueItemQuerySet(models.QuerySet):
    def in_order(self) -> ReviewQueueItemQuerySet:
        """The order items are offered in: the first added first."""
        return self.order_by("added_at", "id")

    def after(self, added_at: str, pk: str) -> ReviewQueueItemQuerySet:
        """The items after (``added_at``, ``pk``) in that order: the next page."""
        return self.filter(models.Q(added_at__gt=added_at) | models.Q(added_at=added_at, id__gt=pk))

    def with_progress(self) -> ReviewQueueItemQuerySet:
        """Each item's ``reviewed`` count: the reviewers who gave an annotation for it."""
        reviewers = (
            _annotations_for_item()
            .order_by()
            .values("queue_item_id")
            .annotate(n=Count("author", distinct=True))
            .values("n")
        )
        return self.annotate(reviewed=Coalesce(Subquery(reviewers), Value(0)))

    def complete(self) -> ReviewQueueItemQuerySet:
        """Items with all the reviews their queue needs: none is offered to anyone again."""
        return self.with_progress().filter(reviewed__gte=models.F("queue__reviewers_per_item"))

    def done_by(self, reviewer: str) -> ReviewQueueItemQuerySet:
        return self.filter(Exists(_annotations_for_item().filter(author=reviewer)))

    def held_by(self, reviewer: str, now: str) -> ReviewQueueItemQuerySet:
        """Items a reservation of ``reviewer``'s holds at ``now``."""
        held = ReviewReservation.objects.holding(now).filter(item=OuterRef("pk"), reviewer=reviewer)
        return self.filter(Exists(held))

    def offered_to(self, reviewer: str, now: str) -> ReviewQueueItemQuerySet:
        """The items ``reviewer`` may review at ``now`` (canonical text): not done by them,
        done by fewer reviewers than the queue needs, and not held by anyone else (two
        people never review an item at once)."""
        others = ReviewReservation.objects.holding(now).filter(item=OuterRef("pk"))
        others = others.exclude(reviewer=reviewer)
        return (
            self.with_progress()
            .filter(reviewed__lt=models.F("queue__reviewers_per_item"))
            .exclude(Exists(_annotations_for_item().filter(author=reviewer)))
            .exclude(Exists(others))
        )


class ReviewQueueItem(models.Model):
    """A turn, a session or a workflow run in a queue (by the target's id: no key to the v1
    tables, which other writers own)."""

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    queue = models.ForeignKey(
        ReviewQueue, on_delete=models.DB_CASCADE, related_name="items", db_index=False
    )
    target_kind = models.TextField(choices=TargetKind)
    target_id = models.TextField()
    added_by = models.TextField()
    added_at = models.TextField()

    objects = ReviewQueueItemQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_review_queue_items"
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "target_kind", "target_id"], name="uniq_review_queue_item"
            ),
        ]
        indexes = [
            models.Index(fields=["queue", "added_at", "id"], name="idx_review_items_order"),
        ]

    def __str__(self) -> str:
        return f"{self.target_kind} {self.target_id}"


class ReviewReservationQuerySet(AppendOnlyQuerySet):
    def live(self, now: str) -> ReviewReservationQuerySet:
        """Reservations that have not run out at ``now`` (canonical text, as the column)."""
        return self.filter(expires_at__gt=now)

    def holding(self, now: str) -> ReviewReservationQuerySet:
        """The reservations that hold their item at ``now``: a reservation holds it until
        it runs out or its holder reviewed the item, whichever is first."""
        reviewed = Annotation.objects.filter(
            queue_item_id=OuterRef("item_id"), author=OuterRef("reviewer")
        )
        return self.live(now).exclude(Exists(reviewed))


class ReviewReservation(AppendOnlyModel):
    """A reviewer holds an item from ``reserved_at`` until ``expires_at``."""

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    item = models.ForeignKey(
        ReviewQueueItem, on_delete=models.DB_CASCADE, related_name="reservations", db_index=False
    )
    reviewer = models.TextField()
    reserved_at = models.TextField()
    expires_at = models.TextField()

    objects = ReviewReservationQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_review_reservations"
        indexes = [
            models.Index(fields=["item", "expires_at"], name="idx_review_reservations_live"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} until {self.expires_at}"
