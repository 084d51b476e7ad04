"""The review queues' writes: make a queue, add items to it, reserve the next item for a
reviewer, and give a review of an item. ``RuntimeMemoryStore`` is their front door
(``create_review_queue``, ``add_queue_items``, ``reserve_next_item``, ``review_item``).

Every value is checked before anything is written: a refusal (InvalidInput, NotFound)
writes nothing. Writes to one queue take turns (``serialize_on`` the queue: a PostgreSQL
advisory lock; SQLite's IMMEDIATE transactions already do), so two reviewers asking at once
never reserve the same item, and two admins adding the same rows add them once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction

from memory_app import checks
from memory_app.errors import InvalidInput, NotFound
from memory_app.review import texts, writes
from memory_app.review.models import Annotation, TargetKind
from memory_app.review.queue_models import (
    DEFAULT_RESERVATION_SECONDS,
    ReviewQueue,
    ReviewQueueConfig,
    ReviewQueueItem,
    ReviewReservation,
)
from memory_app.timeutil import format_iso, now
from memory_app.vendor_sql import serialize_on
from memory_app.writing import get

# A queue is a set people review by hand: more reviewers or items than this is a mistake.
MAX_REVIEWERS_PER_ITEM = 50
# One addition takes at most this many rows; a larger filter is refused, to be narrowed.
MAX_ITEMS_PER_ADD = 1000
# A reservation lasts from a minute to a day.
RESERVATION_RANGE = (60, 86_400)


def _whole(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{what} must be a whole number from {low} to {high}; got {value!r}")
    return value


def create_review_queue(
    name: str,
    *,
    created_by: str,
    score_configs: Iterable[str],
    reviewers_per_item: int = 1,
    reservation_seconds: int = DEFAULT_RESERVATION_SECONDS,
    description: str = "",
) -> ReviewQueue:
    """A new queue asking for ``score_configs`` (names, in the order its form shows them);
    a name another queue has, or a config unknown or archived, is refused."""
    values = {
        "name": texts.saying(name, "name"),
        "description": texts.free_text(description, "description"),
        "reviewers_per_item": _whole(
            reviewers_per_item, "reviewers_per_item", 1, MAX_REVIEWERS_PER_ITEM
        ),
        "reservation_seconds": _whole(
            reservation_seconds, "reservation_seconds", *RESERVATION_RANGE
        ),
        "created_by": texts.person(created_by, "created_by"),
    }
    names = [texts.saying(n, "a score config name") for n in score_configs]
    if not names:
        raise InvalidInput("a queue needs at least one score config")
    if len(set(names)) != len(names):
        raise InvalidInput(f"a score config is listed twice: {names!r}")
    with transaction.atomic():
        serialize_on(f"{ReviewQueue._meta.db_table}:{values['name']}")
        if ReviewQueue.objects.filter(name=values["name"]).exists():
            raise InvalidInput(f"a review queue named {values['name']!r} exists already")
        found = writes.offered_configs(names)
        queue = ReviewQueue.objects.create(**values, created_at=format_iso(now()))
        ReviewQueueConfig.objects.bulk_create(
            ReviewQueueConfig(queue=queue, score_config=found[n], position=p)
            for p, n in enumerate(names)
        )
        return queue


@dataclass(frozen=True)
class Added:
    """What an addition did: how many items it added, and how many it skipped because the
    queue held them already (or they were given twice)."""

    added: int
    skipped: int


def add_queue_items(queue_id: str, targets: Iterable[tuple[str, str]], *, added_by: str) -> Added:
    """Add turns, sessions or workflow runs (``(target_kind, target_id)`` pairs) to a queue,
    each once: those it holds already are skipped and counted. A target that does not
    exist is refused (NotFound), as are more than ``MAX_ITEMS_PER_ADD`` at once."""
    who = texts.person(added_by, "added_by")
    given: list[tuple[str, str]] = []
    for kind, target_id in targets:
        given.append(
            (checks.choice(kind, TargetKind, "target_kind"), texts.text(target_id, "target_id"))
        )
        if len(given) > MAX_ITEMS_PER_ADD:
            raise InvalidInput(
                f"at most {MAX_ITEMS_PER_ADD:,} items are added at once; narrow the filter"
            )
    distinct = list(dict.fromkeys(given))
    with transaction.atomic():
        queue = get(ReviewQueue, queue_id)
        serialize_on(f"{ReviewQueue._meta.db_table}:{queue.pk}")
        _check_targets_exist(distinct)
        held = set(queue.items.values_list("target_kind", "target_id"))
        new = [pair for pair in distinct if pair not in held]
        at = format_iso(now())
        ReviewQueueItem.objects.bulk_create(
            ReviewQueueItem(queue=queue, target_kind=k, target_id=t, added_by=who, added_at=at)
            for k, t in new
        )
    return Added(added=len(new), skipped=len(given) - len(new))


def _check_targets_exist(pairs: list[tuple[str, str]]) -> None:
    """NotFound naming the first target that does not exist (a query per kind)."""
    for kind, model in writes.TARGETS.items():
        ids = {t for k, t in pairs if k == kind}
        if not ids:
            continue
        found = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if missing := sorted(ids - found):
            raise NotFound(f"no {kind.replace('_', ' ')} with id {missing[0]!r}")


def reserve_next_item(queue_id: str, *, reviewer: str) -> ReviewQueueItem | None:
    """Reserve the next item of the queue ``reviewer`` may review, for the queue's
    reservation time, or None when there is none (``ReviewQueueItemQuerySet.offered_to``).

    An item the reviewer holds already is given again (asking twice reserves nothing more);
    otherwise the first item added that is offered to them is reserved.
    """
    who = texts.person(reviewer, "reviewer")
    with transaction.atomic():
        queue = get(ReviewQueue, queue_id)
        serialize_on(f"{ReviewQueue._meta.db_table}:{queue.pk}")
        moment = now()
        at = format_iso(moment)
        offered = queue.items.offered_to(who, at).in_order()
        held = offered.held_by(who, at).first()
        if held is not None:
            return held
        item = offered.first()
        if item is not None:
            expires = moment + timedelta(seconds=queue.reservation_seconds)
            ReviewReservation.objects.create(
                item=item, reviewer=who, reserved_at=at, expires_at=format_iso(expires)
            )
        return item


def review_item(
    item_id: str,
    *,
    reviewer: str,
    scores: Mapping[str, Any],
    comment: str = "",
    correction: str | None = None,
) -> Annotation:
    """A reviewer's annotation of a queue's item: a score for each of the queue's configs
    (and only those), with a comment and, for a turn, a correction. Refused when the item is
    not offered to them (they reviewed it already, enough reviewers did, or someone else
    holds it)."""
    who = texts.person(reviewer, "reviewer")
    with transaction.atomic():
        item = get(ReviewQueueItem, item_id)
        queue = item.queue
        serialize_on(f"{ReviewQueue._meta.db_table}:{queue.pk}")
        names = [c.name for c in queue.score_configs()]
        if missing := [n for n in names if n not in scores]:
            raise InvalidInput(f"this queue asks for every score; {', '.join(missing)} is missing")
        if extra := sorted(set(scores) - set(names)):
            raise InvalidInput(f"this queue does not ask for {', '.join(extra)}")
        if not queue.items.filter(pk=item.pk).offered_to(who, format_iso(now())).exists():
            raise InvalidInput(refusal(item, who))
        return writes.annotate(
            item.target_kind,
            item.target_id,
            author=who,
            scores=scores,
            comment=comment,
            correction=correction,
            queue_item_id=item.pk,
        )


def refusal(item: ReviewQueueItem, reviewer: str) -> str:
    """Why ``item`` is not offered to ``reviewer`` now, in a sentence."""
    items = ReviewQueueItem.objects.filter(pk=item.pk)
    if items.done_by(reviewer).exists():
        return "you reviewed this item already"
    reviewed = items.with_progress().values_list("reviewed", flat=True).first() or 0
    if reviewed >= item.queue.reviewers_per_item:
        return "this item has all the reviews it needs"
    return "someone else is reviewing this item now; take the next item"
