"""The evidence and hash chain beside approvals only grow, like approvals themselves."""

from django.db import migrations

from memory_app.vendor_sql import RunSQLFor, pg_drop_trigger, pg_refuse

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
        RunSQLFor(
            sqlite=TRIGGERS,
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
        )
    ]
