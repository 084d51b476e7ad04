"""The audit trail only grows: SQLite refuses changes from any process, not only this one."""

from django.db import migrations

APPEND_ONLY = {
    "approvals": "a decision cannot be changed or deleted; record a new decision instead",
    "validation_results": "a validation result cannot be changed or deleted; record a new one",
    "deploy_outcomes": "a deploy outcome cannot be changed or deleted; record a new one",
}

# Only the v1 ON DELETE SET NULL may touch a task event: clearing a link is allowed,
# any other change is refused.
TASK_EVENT_CONTENT = ("id", "event_type", "event_level", "message", "payload_json", "created_at")
TASK_EVENT_LINKS = ("workflow_run_id", "step_id")


def _append_only_sql(table: str, reason: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {reason}'); END",
        f"CREATE TRIGGER {table}_append_only_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {reason}'); END",
    ]


def _task_event_sql() -> list[str]:
    changed = [f"NEW.{c} IS NOT OLD.{c}" for c in TASK_EVENT_CONTENT] + [
        f"(NEW.{c} IS NOT OLD.{c} AND NEW.{c} IS NOT NULL)" for c in TASK_EVENT_LINKS
    ]
    return [
        "CREATE TRIGGER task_events_keep_content"  # noqa: S608 (fixed column names only)
        " BEFORE UPDATE ON task_events "
        f"WHEN {' OR '.join(changed)} "
        "BEGIN SELECT RAISE(ABORT, 'task_events keep their content: an event cannot be "
        "changed (only ON DELETE SET NULL may clear its links)'); END",
        "CREATE TRIGGER task_events_no_delete BEFORE DELETE ON task_events "
        "BEGIN SELECT RAISE(ABORT, 'task_events keep their content: an event cannot be "
        "deleted'); END",
    ]


PROPOSAL_SQL = [
    "CREATE TRIGGER proposals_keep_decided BEFORE DELETE ON skill_to_logic_proposals "
    "WHEN EXISTS (SELECT 1 FROM approvals WHERE proposal_id = OLD.id) "
    "BEGIN SELECT RAISE(ABORT, 'skill_to_logic_proposals: a proposal that has approvals "
    "cannot be deleted'); END",
]

TRIGGERS = [
    *(sql for table, reason in APPEND_ONLY.items() for sql in _append_only_sql(table, reason)),
    *_task_event_sql(),
    *PROPOSAL_SQL,
]
TRIGGER_NAMES = [sql.split()[2] for sql in TRIGGERS]


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0002_lineage_indexes")]

    operations = [
        migrations.RunSQL(
            sql=TRIGGERS,
            reverse_sql=[f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGER_NAMES],
        )
    ]
