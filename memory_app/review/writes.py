"""The review wing's writes: score configs, and annotations with their scores.
``RuntimeMemoryStore`` is their front door (``create_score_config``, ``annotate``); the
TypeScript store's review.ts writes the same rows. Every value is checked before anything is
written: a refusal (InvalidInput, NotFound) writes nothing; texts and names by ``texts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from memory_app import checks
from memory_app.errors import InvalidInput, NotFound
from memory_app.jsontext import dump_json
from memory_app.promotion import people
from memory_app.review import texts
from memory_app.review.models import (
    Annotation,
    AnnotationScore,
    ScoreConfig,
    ScoreDataType,
    TargetKind,
)
from memory_app.runtime.models import Session, Turn, WorkflowRun
from memory_app.timeutil import now_iso
from memory_app.vendor_sql import serialize_on
from memory_app.writing import get

TARGETS = {
    TargetKind.TURN: Turn,
    TargetKind.SESSION: Session,
    TargetKind.WORKFLOW_RUN: WorkflowRun,
}
EMPTY = (
    "an annotation needs a score, a comment or a correction; "
    f"in a comment or a correction {people.SAYS_NOTHING}"
)


# --- score configs --------------------------------------------------------------------------


def config_name(value: object) -> str:
    """A score config's name: a text that says something (the admin's form checks by it)."""
    return texts.saying(value, "name")


def definition(
    data_type: object, categories: object = None, min_value: object = None, max_value: object = None
) -> dict[str, Any]:
    """The columns that say what a config's scores take (data_type, categories_json,
    min_value, max_value), checked: categories for a categorical config alone (distinct
    texts that say something, at least one), a range for a numeric one alone (either bound
    may be open; min ≤ max), neither for a boolean. The admin's form checks by it too."""
    kind = checks.choice(data_type, ScoreDataType, "data_type")
    if kind != ScoreDataType.CATEGORICAL and categories is not None:
        raise InvalidInput(f"only a categorical score config has categories, not a {kind} one")
    if kind != ScoreDataType.NUMERIC and (min_value is not None or max_value is not None):
        raise InvalidInput(f"only a numeric score config has a range, not a {kind} one")
    columns: dict[str, Any] = {
        "data_type": kind,
        "categories_json": None,
        "min_value": None,
        "max_value": None,
    }
    if kind == ScoreDataType.CATEGORICAL:
        if not isinstance(categories, list | tuple) or not categories:
            raise InvalidInput(
                f"a categorical score config needs a list of categories; got {categories!r}"
            )
        listed = [texts.saying(c, "a category") for c in categories]
        if len(set(listed)) != len(listed):
            raise InvalidInput(f"categories must differ from one another; got {listed!r}")
        columns["categories_json"] = dump_json(listed)
    elif kind == ScoreDataType.NUMERIC:
        low = checks.number(min_value, "min_value", required=False)
        high = checks.number(max_value, "max_value", required=False)
        for bound in (low, high):
            if bound is not None and bound in (float("inf"), float("-inf")):
                raise InvalidInput("a range's bounds are finite numbers (leave one out for none)")
        if low is not None and high is not None and low > high:
            raise InvalidInput(f"min_value {low:g} is above max_value {high:g}")
        columns.update(min_value=low, max_value=high)
    return columns


def create_score_config(
    name: str,
    data_type: str,
    *,
    created_by: str,
    categories: list[str] | None = None,
    min_value: float | None = None,
    max_value: float | None = None,
    description: str = "",
) -> ScoreConfig:
    """Add a score config; a name another config has is refused."""
    values = {
        "name": config_name(name),
        **definition(data_type, categories, min_value, max_value),
        "description": texts.free_text(description, "description"),
        "created_by": texts.person(created_by, "created_by"),
    }
    with transaction.atomic():
        serialize_on(f"{ScoreConfig._meta.db_table}:{values['name']}")
        if ScoreConfig.objects.filter(name=values["name"]).exists():
            raise InvalidInput(f"a score config named {values['name']!r} exists already")
        return ScoreConfig.objects.create(**values, created_at=now_iso())


# --- annotations ----------------------------------------------------------------------------


def _configs(scores: object) -> dict[str, ScoreConfig]:
    """The configs the scores name (``offered_configs``)."""
    if not isinstance(scores, Mapping):
        raise InvalidInput(f"scores must map score config names to values; got {scores!r}")
    return offered_configs([texts.text(name, "a score config name") for name in scores])


def offered_configs(names: list[str]) -> dict[str, ScoreConfig]:
    """The configs ``names`` name, by name (one query): NotFound for an unknown one, and an
    archived one refused, since it takes no new scores (nor a new queue's)."""
    found = {c.name: c for c in ScoreConfig.objects.filter(name__in=names)}
    for name in names:
        if name not in found:
            raise NotFound(f"no score config named {name!r}")
        if found[name].archived_at is not None:
            raise InvalidInput(f"score config {name!r} is archived: it takes no new scores")
    return found


def annotate(
    target_kind: str,
    target_id: str,
    *,
    author: str,
    scores: Mapping[str, Any] | None = None,
    comment: str = "",
    correction: str | None = None,
    queue_item_id: str | None = None,
    supersedes: str | None = None,
    created_at: object = None,
) -> Annotation:
    """Record a reviewer's annotation on a turn, a session or a workflow run: scores by
    config name, a comment, and for a turn a correction; ``supersedes``: the id of the
    author's own current annotation on the same target this one edits (see models)."""
    kind = checks.choice(target_kind, TargetKind, "target_kind")
    values = {
        "target_kind": kind,
        "target_id": texts.text(target_id, "target_id"),
        "author": texts.person(author, "author"),
        "comment": texts.free_text(comment, "comment"),
        "correction": None if correction is None else texts.saying(correction, "correction"),
        "queue_item_id": texts.text(queue_item_id, "queue_item_id", required=False),
        "created_at": checks.when(created_at, "created_at"),
    }
    if values["correction"] is not None and kind != TargetKind.TURN:
        raise InvalidInput(f"only a turn takes a correction, not a {kind.replace('_', ' ')}")
    given = {} if scores is None else scores
    old = None if supersedes is None else texts.text(supersedes, "supersedes")
    with transaction.atomic():
        configs = _configs(given)
        stored = {name: configs[name].stored_value(value) for name, value in given.items()}
        if not (stored or people.has_visible(values["comment"]) or values["correction"]):
            raise InvalidInput(EMPTY)
        get(TARGETS[kind], values["target_id"])
        if old is not None:
            _check_supersedes(get(Annotation, old, lock=True), values)
        annotation = Annotation.objects.create(**values, supersedes_id=old)
        AnnotationScore.objects.bulk_create(
            AnnotationScore(
                annotation=annotation,
                score_config=configs[name],
                value_text=text,
                value_number=number,
            )
            for name, (text, number) in sorted(stored.items())
        )
        return annotation


def _check_supersedes(old: Annotation, new: dict[str, Any]) -> None:
    """An edit supersedes its author's own current annotation on the same target, once."""
    if (old.target_kind, old.target_id) != (new["target_kind"], new["target_id"]):
        raise InvalidInput(
            f"annotation {old.pk} is on {old.target_kind} {old.target_id!r}: "
            "an edit stays on the same target"
        )
    if not people.same_person(old.author, new["author"]):
        raise InvalidInput(f"annotation {old.pk} is {old.author!r}'s: only its author may edit it")
    if Annotation.objects.filter(supersedes=old).exists():
        raise InvalidInput(
            f"annotation {old.pk} was edited already: edit its latest version instead"
        )
