"""Each decision log entry's previous take-in, kept beside the log (issue #22: the overview's
governance part read the bounds of ~1,400 rows in ~100 ms).

A governed row's counted time is held no earlier than the log's latest take-in before its
entry: the latest earlier entry, by log position, whose ``logged_at`` is earlier than its own
(``promotion/decision_time``). Found by walking the log back, that passes every entry of the
same take-in (a take-in logs all it finds at one moment: the demo's ~1,400 rows at once), so
reading the bounds of a take-in's rows took time quadratic in its size.

``tommemory_audit_log_previous`` holds that moment for each entry (NULL: none), written by a
trigger on the log as each entry is appended, whoever appends it (either store, SQL from any
process), in constant time: the entry before it either was logged earlier (its moment is the
answer), or at the same moment (its own answer is this one's), or later (a clock that ran
back: the walk, once). Both stores read it through the entry's index and walk back only for
an entry without one, so the bounds and every status stay what the walk gives.

Nobody can move a counted time through it: a row the table holds is never changed (UPDATE is
refused, as the log's), and a row is taken in only when it is the log's own answer for that
entry (checked on every insert). Deleting rows is allowed: an entry without one is read by
the walk, as before; the trigger deletes those at and after an entry it is given, which could
only be stale after entries were taken out of the log (with its triggers lifted).

A store's bootstrap makes the table and its triggers too (contract/tommemory_schema.sql: both
stores read it), so a file a store made is adopted as it is; the rows an older log holds are
filled in here, each from the one before it, in the log's order.
"""

from django.db import migrations

from memory_app.vendor_sql import RunSQLFor, pg_drop_trigger, pg_refuse, quote

LOG = "tommemory_audit_log"
TABLE = "tommemory_audit_log_previous"
REFUSED = f"{TABLE} is append-only: an entry's previous take-in cannot be changed"
UNCHECKED = f"{TABLE} takes only the decision log's own previous take-in of an entry"


def previous_take_in(index: str, logged_at: str) -> str:
    """SQL: the ``logged_at`` of the latest entry before the entry at ``index`` whose
    ``logged_at`` is earlier than ``logged_at`` (NULL: none), from the entry just before it
    and its row here; the walk back only where those cannot say."""
    walk = (
        f'(SELECT q.logged_at FROM {LOG} q WHERE q."index" < {index} '  # noqa: S608 (names)
        f'AND q.logged_at < {logged_at} ORDER BY q."index" DESC LIMIT 1)'
    )
    return (
        f"(SELECT CASE WHEN p.logged_at < {logged_at} THEN p.logged_at "  # noqa: S608
        f'WHEN p.logged_at = {logged_at} AND b."index" IS NOT NULL THEN b.previous_take_in '
        f"ELSE {walk} END "
        f'FROM {LOG} p LEFT JOIN {TABLE} b ON b."index" = p."index" '
        f'WHERE p."index" = (SELECT MAX(x."index") FROM {LOG} x WHERE x."index" < {index}))'
    )


INDEX = '"index"'
NEW_INDEX = f"NEW.{INDEX}"
_KEEP = (
    f"DELETE FROM {TABLE} WHERE {INDEX} >= {NEW_INDEX}; "  # noqa: S608 (fixed names)
    f"INSERT INTO {TABLE} ({INDEX}, previous_take_in) "
    f"VALUES ({NEW_INDEX}, {previous_take_in(NEW_INDEX, 'NEW.logged_at')})"
)


def _wrong(is_not: str) -> str:
    """SQL: whether the row NEW is not the log's own answer for its entry (``is_not``: the
    engine's "IS NOT" that compares NULLs as values)."""
    entry = f"(SELECT l.logged_at FROM {LOG} l WHERE l.{INDEX} = {NEW_INDEX})"  # noqa: S608
    return (
        f"NOT EXISTS (SELECT 1 FROM {LOG} l WHERE l.{INDEX} = {NEW_INDEX}) "  # noqa: S608
        f"OR NEW.previous_take_in {is_not} {previous_take_in(NEW_INDEX, entry)}"
    )


SQLITE_TABLE = (
    f'CREATE TABLE IF NOT EXISTS "{TABLE}" ("index" bigint NOT NULL PRIMARY KEY, '
    '"previous_take_in" text NULL)'
)
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER {TABLE}_keep AFTER INSERT ON {LOG} BEGIN {_KEEP}; END",
    f"CREATE TRIGGER {TABLE}_checked BEFORE INSERT ON {TABLE} "
    f"WHEN {_wrong('IS NOT')} BEGIN SELECT RAISE(ABORT, {quote(UNCHECKED)}); END",
    f"CREATE TRIGGER {TABLE}_append_only_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, {quote(REFUSED)}); END",
]
SQLITE_TRIGGER_NAMES = [f"{TABLE}_keep", f"{TABLE}_checked", f"{TABLE}_append_only_update"]

POSTGRESQL = [
    f"CREATE TABLE {TABLE} ({INDEX} bigint NOT NULL PRIMARY KEY, previous_take_in text NULL)",
    f"CREATE FUNCTION {TABLE}_keep() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN {_KEEP}; RETURN NULL; END $$",
    f"CREATE TRIGGER {TABLE}_keep AFTER INSERT ON {LOG} "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_keep()",
    f"CREATE FUNCTION {TABLE}_checked() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN IF {_wrong('IS DISTINCT FROM')} THEN "
    f"RAISE EXCEPTION {quote(UNCHECKED)} USING ERRCODE = '23000'; END IF; RETURN NEW; END $$",
    f"CREATE TRIGGER {TABLE}_checked BEFORE INSERT ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_checked()",
    pg_refuse(f"{TABLE}_append_only_update", TABLE, "UPDATE", REFUSED),
]
REVERSE_POSTGRESQL = [
    pg_drop_trigger(f"{TABLE}_keep", LOG),
    f"DROP TABLE IF EXISTS {TABLE}",
    f"DROP FUNCTION IF EXISTS {TABLE}_keep()",
    f"DROP FUNCTION IF EXISTS {TABLE}_checked()",
]


def fill(apps, schema_editor) -> None:
    """A row for each entry without one, in the log's order: each then comes from the one
    before it (constant time), as the trigger would have written it."""
    entry = f"l.{INDEX}"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {entry} FROM {LOG} l WHERE NOT EXISTS "  # noqa: S608 (fixed names)
            f"(SELECT 1 FROM {TABLE} b WHERE b.{INDEX} = {entry}) ORDER BY {entry}"
        )
        for (index,) in cursor.fetchall():
            cursor.execute(
                f"INSERT INTO {TABLE} ({INDEX}, previous_take_in) "  # noqa: S608
                f"SELECT {entry}, {previous_take_in(entry, 'l.logged_at')} "
                f"FROM {LOG} l WHERE {entry} = %s",
                [index],
            )


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0028_overview_rollups")]

    operations = [
        RunSQLFor(
            # A store's bootstrap makes them too: the table is adopted, its triggers replaced.
            sqlite=[
                SQLITE_TABLE,
                *(f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGER_NAMES),
                *SQLITE_TRIGGERS,
            ],
            reverse_sqlite=[
                *(f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGER_NAMES),
                f"DROP TABLE IF EXISTS {TABLE}",
            ],
            postgresql=POSTGRESQL,
            reverse_postgresql=REVERSE_POSTGRESQL,
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
