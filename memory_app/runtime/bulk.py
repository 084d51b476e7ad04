"""Rows inserted as tuples: trusted bulk loads (``seed_demo``, ``copy_database``) in one
transaction, turns indexed for search in one pass per index on SQLite; and the store's
batch writers' rows (``insert_rows``), every value checked first, every trigger on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models, transaction

from memory_app.fields import sql_integer
from memory_app.jsontext import dump_json
from memory_app.runtime.models import Turn

# The search indexes (migration 0012), each with the insert trigger a bulk load turns off,
# and how it fills each index for the turns after a rowid in one pass instead.
SEARCH_INDEXES = {
    f"{index}_insert": f"INSERT INTO {index} (rowid, content) "  # noqa: S608 (constant table names)
    "SELECT rowid, content FROM conversation_turns WHERE rowid > %s"
    for index in ("turn_search", "turn_words")
}
SEARCH_INDEX_COMMAND = {
    f"{index}_insert": f"INSERT INTO {index} ({index}, rank) VALUES (%s, %s)"  # noqa: S608
    for index in ("turn_search", "turn_words")
}


def _json_rows(rows: list[Sequence[Any]]) -> str | None:
    """The rows as one JSON array, when every value comes back from SQLite's JSON exactly
    as it went in (text, NULL, integers of 64 bits); None when any other value is there
    (a float, bytes, a bigger integer), which then travel as parameters."""
    for row in rows:
        for value in row:
            if not (value is None or type(value) is str or sql_integer(value)):
                return None
    return dump_json(rows)


def settle_search(using: str = "default") -> None:
    """After bulk loads of turns: merge each search index into one segment (FTS5's
    ``optimize``), so the writes that follow do not pay for merging what the loads
    left unmerged (on a million turns a later write then waited seconds).
    PostgreSQL's search index needs nothing."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for command in SEARCH_INDEX_COMMAND.values():
            cursor.execute(command, ["optimize", None])


def row_values(row: models.Model) -> tuple:
    """A model instance's column values in the table's column order (for ``bulk_insert``)."""
    return tuple(getattr(row, f.attname) for f in row._meta.local_fields)


def bulk_insert(
    model: type[models.Model], rows: Iterable[Sequence[Any]], using: str = "default"
) -> int:
    """Insert rows given as tuples in the table's column order, in one transaction.

    For trusted bulk loads only (``seed_demo``, ``copy_database``): the values are not
    validated. ``using`` names the database (an alias of ``DATABASES``).
    On SQLite turns are indexed for search in one pass per index after the insert
    rather than row by row through the insert triggers, which is several times slower.
    It is one function because the trigger surgery around the insert (off, insert,
    index, on) must stay in one transaction in one place; split, a piece could leave the
    search triggers off.
    """
    connection = connections[using]
    columns = [f.column for f in model._meta.local_fields]
    rows = list(rows)
    document = _json_rows(rows) if connection.vendor == "sqlite" else None
    if document is None:
        sql = _insert_sql(model, connection)
    else:
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        # One statement for the whole batch, which SQLite runs without Python's lock
        # (executemany takes it back for every row): ``seed_demo`` builds its next
        # batch meanwhile.
        values = ", ".join(f"json_extract(value, '$[{n}]')" for n in range(len(columns)))
        # Identifiers come from the model, never from input; values are parameters.
        sql = f"INSERT INTO {table} ({names}) SELECT {values} FROM json_each(%s)"  # noqa: S608

    def insert(cursor) -> None:
        if document is None:
            cursor.executemany(sql, rows)
        else:
            cursor.execute(sql, [document])

    with transaction.atomic(using=using), connection.cursor() as cursor:
        # PostgreSQL keeps its search index (a GIN index, with pending-list inserts)
        # and turn positions current as rows arrive, at a bulk load's pace already.
        if model is not Turn or connection.vendor == "postgresql":
            insert(cursor)
            return len(rows)
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE name IN (%s, %s)",
            list(SEARCH_INDEXES),
        )
        triggers = cursor.fetchall()
        cursor.execute("SELECT COALESCE(MAX(rowid), 0) FROM conversation_turns")
        (last_rowid,) = cursor.fetchone()
        # Other writers wait on the IMMEDIATE lock, so none can write while the triggers
        # are off.
        for name, _ in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        insert(cursor)
        for index, fill in SEARCH_INDEXES.items():
            # FTS5 merges its segments as rows arrive; merging once, when the whole load
            # is in (``settle_search``), is less work. Automerge 4 is FTS5's default,
            # which later writes keep.
            cursor.execute(SEARCH_INDEX_COMMAND[index], ["automerge", 0])
            cursor.execute(fill, [last_rowid])
            cursor.execute(SEARCH_INDEX_COMMAND[index], ["automerge", 4])
        for _, trigger_sql in triggers:
            cursor.execute(trigger_sql)
    return len(rows)


def insert_rows(
    model: type[models.Model], rows: Sequence[Sequence[Any]], using: str = "default"
) -> None:
    """Insert rows given as tuples in the table's column order, each value bound as a single
    insert binds it, in as few statements as the engine's limit on parameters allows: the
    store's batch writers (memory_app.runtime.writes) after checking every value. Nothing
    is turned off around it, so every trigger (search, the turn hours, change tokens) fires
    as for a single insert. One statement of many rows, not one run per row: on SQLite each
    statement inside a transaction makes the search indexes (FTS5) write out the terms they
    hold, a segment each, which cost a turn four times its insert."""
    connection = connections[using]
    fields = model._meta.local_fields
    # SQLite's limit on parameters as Django counts it; a thousand rows a statement at most
    # elsewhere, within PostgreSQL's 65,535 parameters however it binds them.
    size = max(1, min(connection.ops.bulk_batch_size(fields, rows), 1000))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            values = [value for row in part for value in row]
            cursor.execute(_insert_sql(model, connection, len(part)), values)


def _insert_sql(model: type[models.Model], connection, count: int = 1) -> str:
    """An INSERT of ``count`` rows of every column of the model's table, a parameter each
    (made once per table, engine and count)."""
    key = (model, connection.vendor, count)
    if key not in _INSERTS:
        name = connection.ops.quote_name
        fields = model._meta.local_fields
        names = ", ".join(name(f.column) for f in fields)
        row = "(" + ", ".join("%s" for _ in fields) + ")"
        table = name(model._meta.db_table)
        # Identifiers come from the model, never from input; values are parameters.
        _INSERTS[key] = f"INSERT INTO {table} ({names}) VALUES " + ", ".join([row] * count)  # noqa: S608
    return _INSERTS[key]


_INSERTS: dict[tuple[type[models.Model], str, int], str] = {}
