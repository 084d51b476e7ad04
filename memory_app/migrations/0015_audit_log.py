"""The decision log (memory_app.auditlog): its table, append-only on both engines."""

from django.db import migrations, models

from memory_app.vendor_sql import RunSQLFor, pg_drop_trigger, pg_refuse

TABLE = "tommemory_audit_log"
REASON = "a log entry cannot be changed or deleted"


class Migration(migrations.Migration):
    dependencies = [
        ("memory_app", "0014_turn_position"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditLeaf",
            fields=[
                (
                    "index",
                    models.BigIntegerField(
                        help_text="position in the log, from 0", primary_key=True, serialize=False
                    ),
                ),
                ("kind", models.TextField()),
                ("row_id", models.TextField()),
                ("leaf_hash", models.TextField()),
                ("logged_at", models.TextField()),
            ],
            options={
                "db_table": "tommemory_audit_log",
                "constraints": [
                    models.UniqueConstraint(fields=("kind", "row_id"), name="uniq_audit_log_row")
                ],
            },
        ),
        RunSQLFor(
            sqlite=[
                f"CREATE TRIGGER {TABLE}_append_only_{op} BEFORE {op.upper()} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {REASON}'); END"
                for op in ("update", "delete")
            ],
            reverse_sqlite=[
                f"DROP TRIGGER IF EXISTS {TABLE}_append_only_{op}" for op in ("update", "delete")
            ],
            postgresql=[
                pg_refuse(
                    f"{TABLE}_append_only_{op}",
                    TABLE,
                    op.upper(),
                    f"{TABLE} is append-only: {REASON}",
                )
                for op in ("update", "delete")
            ],
            reverse_postgresql=[
                pg_drop_trigger(f"{TABLE}_append_only_{op}", TABLE) for op in ("update", "delete")
            ],
        ),
    ]
