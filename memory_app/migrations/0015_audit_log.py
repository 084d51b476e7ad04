"""The decision log (memory_app.auditlog): its table, append-only on both engines."""

from django.db import migrations, models

from memory_app.adoption import CreateOrAdoptModel  # a store's bootstrap makes it too
from memory_app.vendor_sql import append_only

TABLE = "tommemory_audit_log"


class Migration(migrations.Migration):
    dependencies = [
        ("memory_app", "0014_turn_position"),
    ]

    operations = [
        CreateOrAdoptModel(
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
        append_only(TABLE, "a log entry cannot be changed or deleted"),
    ]
