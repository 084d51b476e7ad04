"""A scheduled profile version can be withdrawn before it starts: who, when and why in an
append-only table of ours, and the one more change a published version may get. (And,
for the same issue #22, the one-row table of the address notifications link to:
memory_app.notify.models.SiteAddress.)

Withdrawing closes the version's window at its own start (open to a time: already
allowed) and opens again the window it had closed, which 0009 refuses (a closed window
never changes). The profile triggers are made again with exactly that exception: a
closed window may go back to open (NULL) only when a withdrawal of a later version of the
same profile is recorded, that version's window is already empty and starts where this
one ends, and this version is not withdrawn itself. On PostgreSQL a trigger's WHEN cannot
hold a subquery, so a function per table asks the withdrawals table.
"""

import importlib

from django.db import migrations, models

import memory_app.ids
from memory_app.adoption import CreateOrAdoptModel  # a store's bootstrap makes it too
from memory_app.vendor_sql import RunSQLFor, append_only, pg_drop_trigger, pg_refuse

TABLE = "tommemory_profile_withdrawals"
_0009 = importlib.import_module("memory_app.migrations.0009_profile_versions_immutable")
PROFILE_TABLES = _0009.TABLES
MESSAGE = (
    "{table}: a published version cannot be changed (only its open effective_to may be "
    "closed, or reopened by a withdrawal of the version that closed it); publish a new "
    "version instead"
)


def _columns(table: str) -> list[str]:
    document = "behavior_json" if table == "behavior_profiles" else "personality_json"
    return [document if c == "behavior_json" else c for c in _0009.CONTENT]


def _reopen_allowed(table: str, row_id: str, name: str, version: str, ends: str) -> str:
    """SQL: whether a withdrawal reopens the window of this row (its id, profile name,
    version and end given as expressions)."""
    return (
        f"NOT EXISTS (SELECT 1 FROM {TABLE} w WHERE w.profile_table = '{table}' "  # noqa: S608
        f"AND w.version_id = {row_id}) "
        f"AND EXISTS (SELECT 1 FROM {TABLE} w JOIN {table} t ON t.id = w.version_id "
        f"WHERE w.profile_table = '{table}' AND t.profile_name = {name} "
        f"AND t.version > {version} AND t.effective_from = {ends} "
        "AND t.effective_to = t.effective_from)"
    )


def _sqlite(table: str) -> list[str]:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _columns(table))
    reopened = (
        "(OLD.effective_to IS NOT NULL AND OLD.effective_to != '' "
        "AND NEW.effective_to IS NOT OLD.effective_to)"
    )
    allowed = "NEW.effective_to IS NULL AND " + _reopen_allowed(
        table, "OLD.id", "OLD.profile_name", "OLD.version", "OLD.effective_to"
    )
    message = MESSAGE.format(table=table)
    return [
        f"DROP TRIGGER IF EXISTS {table}_immutable",
        f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
        f"WHEN {changed} OR ({reopened} AND NOT ({allowed})) "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
    ]


def _postgresql(table: str) -> list[str]:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _columns(table))
    reopened = (
        "(OLD.effective_to IS NOT NULL AND OLD.effective_to != '' "
        "AND NEW.effective_to IS DISTINCT FROM OLD.effective_to)"
    )
    function = f"tom_{table}_withdrawal_reopens"
    return [
        f"CREATE OR REPLACE FUNCTION {function}(row_id text, name text, number bigint, "
        f"ends text) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT "
        f"{_reopen_allowed(table, 'row_id', 'name', 'number', 'ends')} $$",
        pg_drop_trigger(f"{table}_immutable", table),
        pg_refuse(
            f"{table}_immutable",
            table,
            "UPDATE",
            MESSAGE.format(table=table),
            f"{changed} OR ({reopened} AND NOT (NEW.effective_to IS NULL AND "
            f"{function}(OLD.id, OLD.profile_name, OLD.version, OLD.effective_to)))",
        ),
    ]


def _reverse_sqlite(table: str) -> list[str]:
    made = _0009._sql(table)[0]  # 0009's trigger, as it was
    return [f"DROP TRIGGER IF EXISTS {table}_immutable", made]


def _reverse_postgresql(table: str) -> list[str]:
    return [
        pg_drop_trigger(f"{table}_immutable", table),
        _0009._postgresql(table)[0],
        f"DROP FUNCTION IF EXISTS tom_{table}_withdrawal_reopens(text, text, bigint, text)",
    ]


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0022_postgresql_log_takes_any_id")]

    operations = [
        CreateOrAdoptModel(
            name="ProfileWithdrawal",
            fields=[
                (
                    "id",
                    models.TextField(
                        default=memory_app.ids.new_id,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("profile_table", models.TextField()),
                ("version_id", models.TextField()),
                ("withdrawn_by", models.TextField()),
                ("withdrawn_at", models.TextField()),
                ("reason", models.TextField()),
            ],
            options={
                "db_table": TABLE,
                "constraints": [
                    models.UniqueConstraint(
                        fields=("profile_table", "version_id"), name="uniq_profile_withdrawal"
                    )
                ],
            },
        ),
        append_only(TABLE, "a withdrawal cannot be changed or deleted"),
        migrations.CreateModel(
            name="SiteAddress",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("base_url", models.TextField()),
                ("recorded_at", models.TextField()),
            ],
            options={
                "verbose_name_plural": "site address",
                "db_table": "tommemory_site_address",
            },
        ),
        RunSQLFor(
            sqlite=[sql for table in PROFILE_TABLES for sql in _sqlite(table)],
            reverse_sqlite=[sql for table in PROFILE_TABLES for sql in _reverse_sqlite(table)],
            postgresql=[sql for table in PROFILE_TABLES for sql in _postgresql(table)],
            reverse_postgresql=[
                sql for table in PROFILE_TABLES for sql in _reverse_postgresql(table)
            ],
        ),
    ]
