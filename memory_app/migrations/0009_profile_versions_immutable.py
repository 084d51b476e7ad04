"""A published profile version is never rewritten: only its open window may be closed, once."""

from django.db import migrations

from memory_app.vendor_sql import RunSQLFor, pg_drop_trigger, pg_refuse

TABLES = ("behavior_profiles", "personality_profiles")
CONTENT = (
    "id",
    "profile_name",
    "version",
    "behavior_json",
    "rationale",
    "source_ref",
    "effective_from",
    "created_at",
    "created_by",
)


def _sql(table: str) -> list[str]:
    document = "behavior_json" if table == "behavior_profiles" else "personality_json"
    columns = [document if c == "behavior_json" else c for c in CONTENT]
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
    # effective_to may go from open (NULL or '') to a time, and never change after that.
    reopened = "(OLD.effective_to IS NOT NULL AND OLD.effective_to != '' AND NEW.effective_to IS NOT OLD.effective_to)"
    return [
        f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "  # noqa: S608
        f"WHEN {changed} OR {reopened} "
        f"BEGIN SELECT RAISE(ABORT, '{table}: a published version cannot be changed "
        "(only its open effective_to may be closed); publish a new version instead'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table}: published versions cannot be deleted'); END",
    ]


def _postgresql(table: str) -> list[str]:
    document = "behavior_json" if table == "behavior_profiles" else "personality_json"
    columns = [document if c == "behavior_json" else c for c in CONTENT]
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)
    reopened = "(OLD.effective_to IS NOT NULL AND OLD.effective_to != '' AND NEW.effective_to IS DISTINCT FROM OLD.effective_to)"
    return [
        pg_refuse(
            f"{table}_immutable",
            table,
            "UPDATE",
            f"{table}: a published version cannot be changed (only its open effective_to may "
            "be closed); publish a new version instead",
            f"{changed} OR {reopened}",
        ),
        pg_refuse(
            f"{table}_no_delete", table, "DELETE", f"{table}: published versions cannot be deleted"
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0008_evidence_append_only")]

    operations = [
        RunSQLFor(
            sqlite=[sql for table in TABLES for sql in _sql(table)],
            reverse_sqlite=[
                f"DROP TRIGGER IF EXISTS {t}_{s}"
                for t in TABLES
                for s in ("immutable", "no_delete")
            ],
            postgresql=[sql for table in TABLES for sql in _postgresql(table)],
            reverse_postgresql=[
                pg_drop_trigger(f"{t}_{s}", t) for t in TABLES for s in ("immutable", "no_delete")
            ],
        )
    ]
