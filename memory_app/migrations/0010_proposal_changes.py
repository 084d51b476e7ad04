"""Evidence keeps the risk level a decision was given under; proposal changes are logged.

v1 keeps no history of a proposal, so a writer outside the form could lower its risk level
or edit its document after decisions were given. The trigger records every such change
with the time the database noticed it; the log itself only grows.
"""

from django.db import migrations, models

from memory_app.adoption import AddOrAdoptField
from memory_app.vendor_sql import RunSQLFor, pg_drop_trigger, pg_refuse

LOG = "tommemory_proposal_changes"
WATCHED = ("risk_level", "proposal_json")
NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def _watch(column: str) -> str:
    return (
        f"CREATE TRIGGER proposals_log_{column} AFTER UPDATE OF {column} "  # noqa: S608 (fixed names)
        f"ON skill_to_logic_proposals WHEN OLD.{column} IS NOT NEW.{column} "
        f'BEGIN INSERT INTO {LOG} (proposal_id, "column", old_value, new_value, noticed_at) '
        f"VALUES (NEW.id, '{column}', OLD.{column}, NEW.{column}, {NOW}); END"
    )


TRIGGERS = [_watch(c) for c in WATCHED] + [
    f"CREATE TRIGGER {LOG}_append_only_{op} BEFORE {op.upper()} ON {LOG} "
    f"BEGIN SELECT RAISE(ABORT, '{LOG} is append-only: a noticed change cannot be "
    "changed or deleted'); END"
    for op in ("update", "delete")
]
# PostgreSQL: one function logs a change of the column its trigger names.
PG_NOW = """to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
POSTGRESQL = [
    "CREATE FUNCTION tom_log_proposal_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f'BEGIN INSERT INTO {LOG} (proposal_id, "column", old_value, new_value, noticed_at) '
    "VALUES (NEW.id, TG_ARGV[0], to_jsonb(OLD) ->> TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[0], "
    f"{PG_NOW}); RETURN NULL; END $$",
    *(
        f"CREATE TRIGGER proposals_log_{c} AFTER UPDATE OF {c} ON skill_to_logic_proposals "
        f"FOR EACH ROW WHEN (OLD.{c} IS DISTINCT FROM NEW.{c}) "
        f"EXECUTE FUNCTION tom_log_proposal_change('{c}')"
        for c in WATCHED
    ),
    *(
        pg_refuse(
            f"{LOG}_append_only_{op}",
            LOG,
            op.upper(),
            f"{LOG} is append-only: a noticed change cannot be changed or deleted",
        )
        for op in ("update", "delete")
    ),
]
REVERSE_POSTGRESQL = [
    *(pg_drop_trigger(f"proposals_log_{c}", "skill_to_logic_proposals") for c in WATCHED),
    *(pg_drop_trigger(f"{LOG}_append_only_{op}", LOG) for op in ("update", "delete")),
    "DROP FUNCTION IF EXISTS tom_log_proposal_change()",
]
DROP = [f"DROP TRIGGER IF EXISTS proposals_log_{c}" for c in WATCHED] + [
    f"DROP TRIGGER IF EXISTS {LOG}_append_only_{op}" for op in ("update", "delete")
]


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0009_profile_versions_immutable")]

    operations = [
        # The evidence table a store's bootstrap made, adopted by 0007, has it already.
        AddOrAdoptField(
            model_name="approvalevidence",
            name="risk_level",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="ProposalChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("proposal_id", models.TextField()),
                ("column", models.TextField()),
                ("old_value", models.TextField(null=True)),
                ("new_value", models.TextField(null=True)),
                ("noticed_at", models.TextField()),
            ],
            options={
                "db_table": LOG,
                "indexes": [
                    models.Index(fields=["proposal_id", "id"], name="idx_proposal_changes")
                ],
            },
        ),
        RunSQLFor(
            sqlite=TRIGGERS,
            reverse_sqlite=DROP,
            postgresql=POSTGRESQL,
            reverse_postgresql=REVERSE_POSTGRESQL,
        ),
    ]
