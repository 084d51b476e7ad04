"""Raw SQL written once per database engine: in migrations, and the writers' locks.

The v1 tables and our own are models, so Django writes their DDL for either engine. What
models cannot say (triggers that keep the audit trail append-only for every writer, the
search indexes, SQL functions) differs between SQLite and PostgreSQL: each migration
gives both, and ``RunSQLFor`` runs the one the migrating connection needs.
"""

from django.db import connection, migrations, router

ENGINES = ("sqlite", "postgresql")


class RunSQLFor(migrations.RunSQL):
    """``RunSQL`` with statements (and their reverse) for each engine."""

    def __init__(self, *, sqlite, postgresql, reverse_sqlite=None, reverse_postgresql=None):
        self.by_engine = {
            "sqlite": (list(sqlite), reverse_sqlite),
            "postgresql": (list(postgresql), reverse_postgresql),
        }
        super().__init__(sql=sqlite, reverse_sql=reverse_sqlite)

    def _for(self, schema_editor, reverse: bool):
        vendor = schema_editor.connection.vendor
        if vendor not in self.by_engine:
            raise NotImplementedError(f"tommemory runs on {' or '.join(ENGINES)}, not {vendor}")
        forward, backward = self.by_engine[vendor]
        return backward if reverse else forward

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if router.allow_migrate(schema_editor.connection.alias, app_label, **self.hints):
            self._run_sql(schema_editor, self._for(schema_editor, reverse=False))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        reverse = self._for(schema_editor, reverse=True)
        if reverse is None:
            raise NotImplementedError("You cannot reverse this operation")
        if router.allow_migrate(schema_editor.connection.alias, app_label, **self.hints):
            self._run_sql(schema_editor, reverse)


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# PostgreSQL: one trigger function refuses a change with the message its trigger gives,
# as SQLite's RAISE(ABORT, message) does; 23000 reaches Django as an IntegrityError.
PG_REFUSE_FUNCTION = (
    "CREATE OR REPLACE FUNCTION tom_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = '23000'; END $$"
)


def pg_refuse(name: str, table: str, when: str, message: str, condition: str = "") -> str:
    """A PostgreSQL row trigger that refuses ``when`` (``UPDATE``/``DELETE``) with a message."""
    guard = f"WHEN ({condition}) " if condition else ""
    return (
        f"CREATE TRIGGER {name} BEFORE {when} ON {table} FOR EACH ROW {guard}"
        f"EXECUTE FUNCTION tom_refuse({quote(message)})"
    )


def pg_drop_trigger(name: str, table: str) -> str:
    return f"DROP TRIGGER IF EXISTS {name} ON {table}"


def serialize_on(key: str) -> None:
    """Make writers of the same ``key`` take turns until the transaction ends, for rows with
    no parent row to lock (a profile's name, the decision log): a transaction-scoped
    advisory lock on PostgreSQL; SQLite's IMMEDIATE transaction already excludes every
    other writer."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def append_only(table: str, reason: str) -> RunSQLFor:
    """Triggers on both engines that refuse any UPDATE or DELETE of ``table``'s rows, from any
    connection, with the message ``<table> is append-only: <reason>``."""
    message = f"{table} is append-only: {reason}"
    ops = ("update", "delete")
    return RunSQLFor(
        # A store's bootstrap makes these triggers with its tables (contract/
        # tommemory_schema.sql): when the table was adopted, the migration's own replace them.
        sqlite=[
            statement
            for op in ops
            for statement in (
                f"DROP TRIGGER IF EXISTS {table}_append_only_{op}",
                f"CREATE TRIGGER {table}_append_only_{op} BEFORE {op.upper()} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, {quote(message)}); END",
            )
        ],
        reverse_sqlite=[f"DROP TRIGGER IF EXISTS {table}_append_only_{op}" for op in ops],
        postgresql=[
            pg_refuse(f"{table}_append_only_{op}", table, op.upper(), message) for op in ops
        ],
        reverse_postgresql=[pg_drop_trigger(f"{table}_append_only_{op}", table) for op in ops],
    )
