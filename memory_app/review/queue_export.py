"""A queue's items and reviews as a dataset, streamed, at the queue page's address:
``?format=jsonl`` (a line per item: the item in context, whole turns included, and each
reviewer's current annotation with its scores and correction) or ``?format=csv`` (a row per
reviewer's annotation, a column per score config; an item nobody reviewed yet has a row
with no reviewer)."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, StreamingHttpResponse

from memory_app.exports import export_response, json_record, safe_filename, stream_json
from memory_app.review.context import ItemContext, item_context
from memory_app.review.models import Annotation
from memory_app.review.queue_models import ReviewQueue, ReviewQueueItem

FORMATS = ("jsonl", "csv")
# Items are read this many at a time, each batch's annotations in two queries.
BATCH = 100


def wanted(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None


def _reviewed(queue: ReviewQueue) -> Iterator[tuple[ReviewQueueItem, list[Annotation]]]:
    """Each item, the first added first, with its current annotations, oldest first."""
    items = queue.items.in_order()
    batch = list(items[:BATCH])
    while batch:
        given: dict[str, list[Annotation]] = {}
        annotations = (
            Annotation.objects.current()
            .filter(queue_item_id__in=[i.pk for i in batch])
            .with_scores()
            .order_by("created_at", "id")
        )
        for annotation in annotations:
            given.setdefault(annotation.queue_item_id, []).append(annotation)
        for item in batch:
            yield item, given.get(item.pk, [])
        batch = list(items.after(batch[-1].added_at, batch[-1].pk)[:BATCH])


def _scores(annotation: Annotation) -> dict[str, object]:
    return {score.score_config.name: score.value for score in annotation.scores.all()}


def _review(annotation: Annotation) -> dict:
    return {
        "reviewer": annotation.author,
        "created_at": annotation.created_at,
        "scores": _scores(annotation),
        "comment": annotation.comment,
        "correction": annotation.correction,
        "annotation_id": annotation.pk,
    }


def _turn(turn) -> dict:
    return {
        "id": turn.pk,
        "turn_index": turn.turn_index,
        "role": turn.role,
        "content": turn.content,
        "created_at": turn.created_at,
    }


def _context(found: ItemContext) -> dict:
    if not found.found:
        return {"found": False}
    if found.run is not None:
        run = found.run
        steps = [
            {"step_index": s.step_index, "step_name": s.step_name, "status": s.status,
             "started_at": s.started_at, "finished_at": s.finished_at}
            for s in found.steps
        ]  # fmt: skip
        return {
            "found": True,
            "workflow_run": {"id": run.pk, "workflow_name": run.workflow_name,
                             "status": run.status, "started_at": run.started_at},
            "steps": steps,
        }  # fmt: skip
    return {
        "found": True,
        "session_id": found.session.pk if found.session else None,
        "turn_id": found.focus.pk if found.focus else None,
        "turns": [_turn(t) for t in found.turns],
    }


def _jsonl(queue: ReviewQueue) -> Iterator[str]:
    for item, reviews in _reviewed(queue):
        record = {
            "queue": queue.name,
            "item_id": item.pk,
            "target_kind": item.target_kind,
            "target_id": item.target_id,
            "added_at": item.added_at,
            "context": _context(item_context(item, whole=True)),
            "reviews": [_review(a) for a in reviews],
        }
        yield json_record(record) + "\n"


def _csv_rows(queue: ReviewQueue) -> Iterator[dict]:
    for item, reviews in _reviewed(queue):
        base = {"item_id": item.pk, "target_kind": item.target_kind, "target_id": item.target_id}
        if not reviews:
            yield base
        for annotation in reviews:
            yield base | _review(annotation) | {"scores": _scores(annotation)}


def response(queue: ReviewQueue, fmt: str) -> StreamingHttpResponse:
    name = f"review-queue-{safe_filename(queue.name)}"
    if fmt == "jsonl":
        return stream_json(_jsonl(queue), f"{name}.jsonl", "application/x-ndjson; charset=utf-8")
    columns = [
        (column, lambda row, c=column: row.get(c))
        for column in ("item_id", "target_kind", "target_id", "reviewer", "created_at")
    ]
    columns += [
        (f"score:{config.name}", lambda row, n=config.name: row.get("scores", {}).get(n))
        for config in queue.score_configs()
    ]
    columns += [("comment", lambda row: row.get("comment")),
                ("correction", lambda row: row.get("correction"))]  # fmt: skip
    return export_response("csv", _csv_rows(queue), columns, name)
