"""An annotation's history: the chain of edits that led to it (each supersedes the one
before), and what each changed, field by field (a score per config, the comment, the
correction)."""

from dataclasses import dataclass

from memory_app.review.models import Annotation


@dataclass(frozen=True)
class Change:
    what: str  # "comment", "correction" or "score <config name>"
    before: object  # None: not given
    after: object


@dataclass(frozen=True)
class Version:
    annotation: Annotation
    changes: list[Change]  # against the version before ([] for the first)


def _fields(annotation: Annotation) -> dict[str, object]:
    shown: dict[str, object] = {
        f"score {s.score_config.name}": s.value for s in annotation.scores.all()
    }
    shown["comment"] = annotation.comment or None
    shown["correction"] = annotation.correction
    return shown


def _changes(before: Annotation, after: Annotation) -> list[Change]:
    old, new = _fields(before), _fields(after)
    return [
        Change(what, old.get(what), new.get(what))
        for what in sorted(old.keys() | new.keys())
        if old.get(what) != new.get(what) or type(old.get(what)) is not type(new.get(what))
    ]


def versions(annotation: Annotation) -> list[Version]:
    """Every version from ``annotation`` back to the first, newest first: two queries (the
    author's annotations on the target and their scores), whatever the chain's length."""
    rows = {
        row.pk: row
        for row in Annotation.objects.on(annotation.target_kind, annotation.target_id)
        .filter(author=annotation.author)
        .with_scores()
    }
    chain = [rows.get(annotation.pk, annotation)]
    while (previous := rows.get(chain[-1].supersedes_id)) is not None and previous not in chain:
        chain.append(previous)
    return [
        Version(row, _changes(chain[n + 1], row) if n + 1 < len(chain) else [])
        for n, row in enumerate(chain)
    ]
