"""What every wing's writer does to rows: fetch one (locked when a write serializes on it),
insert new ones, finish one, and number the next children of a parent without gaps.

Inserting, numbering and finishing run SQL made once per table rather than built by the
ORM for every call: the runtime wing's writers run them once per row or batch (an OTLP
request writes hundreds of rows), and building a query costs several times running it.
They make no savepoint inside a caller's transaction either (on SQLite each one makes the
search index write out what it holds): a database error in one dooms the caller's
transaction back to its own savepoint, as an error in Django's ``create`` does, and a
refusal (``StoreError``) is raised outside, leaving the caller's transaction as it was.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from memory_app.errors import InvalidInput, NotFound
from memory_app.runtime import bulk


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


def insert[M: models.Model](
    model: type[M], rows: list[dict[str, Any]], *, returning: bool = True
) -> list[M]:
    """Insert new rows of ``model`` given as their columns' values by attribute name (a
    column left out takes its field's default: an id a new UUIDv7), each value prepared as
    ``create`` prepares it, in one statement run once per row (``bulk.insert_rows``), and
    return them as ``create`` does (none when not ``returning``)."""
    fields, plain = _columns(model)
    made, values = [], []
    connection = connections[DEFAULT_DB_ALIAS]
    for row in rows:
        found = [row[f.attname] if f.attname in row else f.get_default() for f in fields]
        if returning:
            made.append(model.from_db(DEFAULT_DB_ALIAS, None, found))
        # A text for a text column, a whole number for an integer one, or NULL is bound as
        # it is: what ``get_db_prep_save`` would make of it, without its calls per value.
        values.append(
            tuple(
                value
                if value is None or type(value) is kind
                else f.get_db_prep_save(value, connection)
                for f, kind, value in zip(fields, plain, found, strict=True)
            )
        )
    if values:
        with transaction.mark_for_rollback_on_error():
            bulk.insert_rows(model, values)
    return made


@functools.cache
def _columns(model: type[models.Model]) -> tuple[list[models.Field], list[type | None]]:
    """The model's columns, and the type of value each takes as it is (none: always
    prepared by its field)."""
    fields = model._meta.concrete_fields
    plain = []
    for field in fields:
        target = field.target_field if field.is_relation else field
        internal = target.get_internal_type()
        plain.append({"TextField": str, "IntegerField": int}.get(internal))
    return fields, plain


def locked(model: type[models.Model], ids: Iterable[str]) -> set[str]:
    """Lock the rows of these ids, as ``get`` locks a parent, and return those that exist,
    in one statement for up to 500 ids; locked in the order of their ids, so two writers
    of the same rows never each hold one the other waits for."""
    ids = sorted(set(ids))
    connection = connections[DEFAULT_DB_ALIAS]
    name = connection.ops.quote_name
    # SQLite has no FOR UPDATE, nor needs it (see ``get``).
    for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""
    table, pk = name(model._meta.db_table), name(model._meta.pk.column)
    found: set[str] = set()
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            # Identifiers come from the model, never from input; ids are parameters.
            cursor.execute(
                f"SELECT {pk} FROM {table} WHERE {pk} IN ({marks}) ORDER BY {pk}{for_update}",  # noqa: S608
                chunk,
            )
            found.update(row[0] for row in cursor.fetchall())
    return found


def next_positions(
    model: type[models.Model], parent: str, field: str, parent_ids: Iterable[str]
) -> dict[str, int]:
    """Lock the rows that rows of ``model`` hang from by ``parent`` (a foreign key)
    (``locked``) and return for each the position after the highest ``field`` among its
    rows: 0, 1, 2, ... without gaps. A parent that does not exist is left out
    (``not_found`` says so). Run inside the transaction that inserts at them: no other
    writer appends between the read and the insert."""
    key = model._meta.get_field(parent)
    found = dict.fromkeys(locked(key.related_model, parent_ids), 0)
    connection = connections[DEFAULT_DB_ALIAS]
    name = connection.ops.quote_name
    parents, fk = sorted(found), name(key.column)
    column, children = name(model._meta.get_field(field).column), name(model._meta.db_table)
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        for start in range(0, len(parents), 500):
            chunk = parents[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            # Identifiers come from the models, never from input; ids are parameters.
            cursor.execute(
                f"SELECT {fk}, MAX({column}) FROM {children} "  # noqa: S608
                f"WHERE {fk} IN ({marks}) GROUP BY {fk}",
                chunk,
            )
            for parent_id, highest in cursor.fetchall():
                if highest is not None:
                    found[parent_id] = highest + 1
    return found


def finish[M: models.Model](model: type[M], pk: str, status: str, time_field: str, when: str) -> M:
    """Set a row's final status and the time it reached it, in one statement that locks it
    (as ``get`` locks a parent), and return the row as it is then; NotFound when there is
    none."""
    pk = checked_id(model, pk)
    connection = connections[DEFAULT_DB_ALIAS]
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        cursor.execute(_finish_sql(model, time_field, connection.vendor), [status, when, pk])
        found = cursor.fetchone()
    if found is None:
        raise not_found(model, pk)
    fields = model._meta.concrete_fields
    return model.from_db(DEFAULT_DB_ALIAS, None, _from_db(fields, found, connection))


@functools.cache
def _finish_sql(model: type[models.Model], time_field: str, vendor: str) -> str:
    name = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(name(f.column) for f in model._meta.concrete_fields)
    # Identifiers come from the model, never from input; values are parameters.
    return (
        f"UPDATE {name(model._meta.db_table)} SET {name('status')} = %s, "  # noqa: S608
        f"{name(model._meta.get_field(time_field).column)} = %s "
        f"WHERE {name(model._meta.pk.column)} = %s RETURNING {columns}"
    )


def finish_each[M: models.Model](
    model: type[M], finished: list[tuple[str, str, str]], time_field: str
) -> list[M]:
    """``finish`` for each (id, status, time), in order, of rows the caller has locked and
    found (``locked``); the rows as each then is. One UPDATE for many rows when no row is
    finished twice (the last would win, as ``finish`` in turn makes it; then one each)."""
    if len({pk for pk, _, _ in finished}) < len(finished):
        return [finish(model, pk, status, time_field, when) for pk, status, when in finished]
    connection = connections[DEFAULT_DB_ALIAS]
    name = connection.ops.quote_name
    fields = model._meta.concrete_fields
    pk = name(model._meta.pk.column)
    columns = ", ".join(f"{name(model._meta.db_table)}.{name(f.column)}" for f in fields)
    stored: dict[str, M] = {}
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        for start in range(0, len(finished), 300):
            chunk = finished[start : start + 300]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            # Identifiers come from the model, never from input; values are parameters.
            # A VALUES list's columns are column1, column2, ... on both engines.
            cursor.execute(
                f"UPDATE {name(model._meta.db_table)} SET {name('status')} = v.column2, "  # noqa: S608
                f"{name(model._meta.get_field(time_field).column)} = v.column3 "
                f"FROM (VALUES {values}) AS v WHERE {pk} = v.column1 RETURNING {columns}",
                [value for row in chunk for value in row],
            )
            for found in cursor.fetchall():
                row = model.from_db(DEFAULT_DB_ALIAS, None, _from_db(fields, found, connection))
                stored[row.pk] = row
    return [stored[pk] for pk, _, _ in finished]


def _from_db(fields, values, connection) -> list[Any]:
    """Column values as the ORM reads them (each field's ``from_db_value``)."""
    return [
        f.from_db_value(value, None, connection) if hasattr(f, "from_db_value") else value
        for f, value in zip(fields, values, strict=True)
    ]
