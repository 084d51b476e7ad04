"""What every wing's writer does to rows: fetch one (locked when a write serializes on it),
finish one, and number the next child without gaps."""

from __future__ import annotations

from django.db import models, transaction
from django.db.models import Max

from memory_app.errors import InvalidInput, NotFound


def get[M: models.Model](model: type[M], pk: object, *, lock: bool = False) -> M:
    """Fetch a row by id or raise NotFound naming the table.

    ``lock``: the row is the parent a write serializes on (a session for its next turn, a
    proposal for its next decision). On PostgreSQL ``FOR UPDATE`` makes every other
    writer of the same parent wait for this transaction; SQLite has one writer at a time
    already (transactions begin IMMEDIATE), and Django leaves ``FOR UPDATE`` out there.
    """
    rows = model.objects.select_for_update() if lock else model.objects
    try:
        return rows.get(pk=checked_id(model, pk))
    except model.DoesNotExist:
        raise not_found(model, pk) from None


def checked_id(model: type[models.Model], pk: object) -> str:
    """An id a write names a row by: a non-empty text, or InvalidInput naming the table."""
    if not isinstance(pk, str) or not pk:
        raise InvalidInput(f"{model._meta.db_table} id must be a non-empty text, got {pk!r}")
    return pk


def not_found(model: type[models.Model], pk: object) -> NotFound:
    return NotFound(f"no {model._meta.db_table} row with id {pk!r}")


def finish[M: models.Model](model: type[M], pk: str, status: str, time_field: str, when: str) -> M:
    """Set a row's final status and the time it reached it, in one transaction."""
    with transaction.atomic():
        row = get(model, pk, lock=True)
        row.status = status
        setattr(row, time_field, when)
        row.save(update_fields=["status", time_field])
    return row


def next_position(rows: models.QuerySet, field: str) -> int:
    """The position after the highest ``field`` among rows: 0, 1, 2, ... without gaps."""
    last = rows.aggregate(last=Max(field))["last"]
    return 0 if last is None else last + 1
