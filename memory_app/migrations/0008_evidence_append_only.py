"""The evidence and hash chain beside approvals only grow, like approvals themselves."""

from django.db import migrations

TABLE = "tommemory_approval_evidence"
REASON = "evidence of a decision cannot be changed or deleted"
TRIGGERS = [
    f"CREATE TRIGGER {TABLE}_append_only_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {REASON}'); END",
    f"CREATE TRIGGER {TABLE}_append_only_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {REASON}'); END",
]


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0007_approval_evidence")]

    operations = [
        migrations.RunSQL(
            TRIGGERS,
            [f"DROP TRIGGER IF EXISTS {TABLE}_append_only_{op}" for op in ("update", "delete")],
        )
    ]
