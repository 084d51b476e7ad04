"""A file a runtime made is a file the dashboard adopts.

The seed's migration path: a runtime makes the database from the v1 DDL (step 1), then the
dashboard's migrations adopt it, rows and all (step 2). A store's bootstrap (Python's
``RuntimeMemoryStore.bootstrap``, TypeScript's ``RuntimeMemoryStore.bootstrap``) makes more
than v1: the tables of ours every store writes (``contract/tommemory_schema.sql``: decision
evidence, break-glass decisions, the decision log), so the migrations that make those tables
later in history find them already there, holding rows.

The operations here, used by those migrations in place of Django's, adopt such a table
when it is exactly the contract's (the columns with their types, defaults and keys, the
foreign keys, the indexes) and make it otherwise, as before. A table that is there but
differs is refused with what differs, never taken as is: the migrations after it assume
the contract's shape. Only SQLite files are made outside the migrations (a PostgreSQL
database gets its tables from them), so on PostgreSQL these are Django's operations.

The migrations' triggers on these tables replace the ones a bootstrap made
(``vendor_sql.append_only``). A later migration that changes one of these tables changes
``tommemory_schema.sql`` with it (tests/test_contract.py proves the two agree) and adopts
what a newer bootstrap made (``AddOrAdoptField``); a file an older store bootstrapped then
has the earlier shape, which that migration must accept as well.
"""

from __future__ import annotations

import functools
import sqlite3
from contextlib import closing
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import migrations

# What a store's bootstrap runs, in this order (the TypeScript store reads the same files).
CONTRACT_DDL = ("v1_schema.sql", "tommemory_schema.sql")


def _contract(name: str) -> Path:
    return Path(settings.BASE_DIR) / "contract" / name


def bootstrap(path: str | Path) -> None:
    """Make the v1 tables and ours in a SQLite file (a new one, or one holding v1 already:
    the DDL only creates what is missing), set up as the contract's connections are."""
    with closing(sqlite3.connect(path)) as conn:
        # The pragmas every connection applies; WAL stays with the file.
        conn.executescript(settings.SQLITE_OPTIONS["init_command"])
        for name in CONTRACT_DDL:
            conn.executescript(_contract(name).read_text())


def shape(execute, table: str) -> dict:
    """Everything SQLite reports about a table that the migrations after it rely on."""
    quoted = '"' + table.replace('"', '""') + '"'
    indexes = {}
    for _seq, name, unique, origin, partial in execute(f"PRAGMA index_list({quoted})"):
        columns = [row[2] for row in execute(f'PRAGMA index_info("{name}")')]
        indexes[name] = (unique, origin, partial, columns)
    return {
        "columns": [tuple(row) for row in execute(f"PRAGMA table_xinfo({quoted})")],
        # (The first value numbers the keys in an order SQLite chooses.)
        "foreign keys": sorted(
            tuple(row[1:]) for row in execute(f"PRAGMA foreign_key_list({quoted})")
        ),
        "indexes": indexes,
    }


@functools.cache
def contract_tables() -> dict[str, tuple[str, dict]]:
    """Each table the contract's DDL makes, by name: the file that makes it, and its shape."""
    made: dict[str, str] = {}
    with closing(sqlite3.connect(":memory:")) as conn:
        for name in CONTRACT_DDL:
            conn.executescript(_contract(name).read_text())
            for (table,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall():
                made.setdefault(table, name)
        return {
            table: (name, shape(lambda sql: conn.execute(sql).fetchall(), table))
            for table, name in made.items()
        }


def _found(schema_editor, table: str) -> dict | None:
    """The shape of ``table`` in the database being migrated, or None when it is not there
    (or the database is not SQLite)."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return None
        return shape(lambda sql: cursor.execute(sql).fetchall(), table)


def _expected(table: str) -> dict:
    return contract_tables().get(table, ("", {}))[1]


def _refuse(table: str, what: str) -> CommandError:
    made_by = contract_tables().get(table, ("",))[0]
    return CommandError(
        f"{table} is already in this database, but its {what} differ from those of the "
        f"table contract/{made_by or '(no file)'} makes. tommemory adopts a table another "
        f"process made only when it is exactly the contract's (compare PRAGMA "
        f"table_xinfo({table}) of both); this migration changed nothing."
    )


class CreateOrAdoptModel(migrations.CreateModel):
    """``CreateModel`` that adopts the table a runtime already made from the contract."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        table = to_state.apps.get_model(app_label, self.name)._meta.db_table
        found = _found(schema_editor, table)
        if found is None:
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        expected = _expected(table)
        if found != expected:
            raise _refuse(table, " and ".join(k for k in found if found[k] != expected.get(k)))


class AddOrAdoptField(migrations.AddField):
    """``AddField`` for a column the contract's table already has, in a table adopted as a
    whole (``CreateOrAdoptModel``) before this migration."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        table, column = model._meta.db_table, model._meta.get_field(self.name).column
        found = _found(schema_editor, table)
        theirs = [c for c in (found or {"columns": []})["columns"] if c[1] == column]
        if not theirs:
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        expected = [c for c in _expected(table).get("columns", []) if c[1] == column]
        if theirs != expected:
            raise _refuse(table, f"column {column}")


class AddOrAdoptIndex(migrations.AddIndex):
    """``AddIndex`` for an index the contract's table already has, in a table adopted as a
    whole (``CreateOrAdoptModel``) before this migration."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        table = to_state.apps.get_model(app_label, self.model_name)._meta.db_table
        theirs = (_found(schema_editor, table) or {"indexes": {}})["indexes"].get(self.index.name)
        if theirs is None:
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        if theirs != _expected(table).get("indexes", {}).get(self.index.name):
            raise _refuse(table, f"index {self.index.name}")
