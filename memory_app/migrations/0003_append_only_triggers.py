"""The audit trail only grows: the database refuses changes from any process, not only this one."""

from django.db import migrations

from memory_app.vendor_sql import PG_REFUSE_FUNCTION, RunSQLFor, pg_drop_trigger, pg_refuse

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


def _postgresql() -> list[str]:
    changed = [f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in TASK_EVENT_CONTENT] + [
        f"(NEW.{c} IS DISTINCT FROM OLD.{c} AND NEW.{c} IS NOT NULL)" for c in TASK_EVENT_LINKS
    ]
    return [
        PG_REFUSE_FUNCTION,
        *(
            pg_refuse(
                f"{table}_append_only_{op.lower()}", table, op, f"{table} is append-only: {reason}"
            )
            for table, reason in APPEND_ONLY.items()
            for op in ("UPDATE", "DELETE")
        ),
        pg_refuse(
            "task_events_keep_content",
            "task_events",
            "UPDATE",
            "task_events keep their content: an event cannot be changed (only ON DELETE SET "
            "NULL may clear its links)",
            " OR ".join(changed),
        ),
        pg_refuse(
            "task_events_no_delete",
            "task_events",
            "DELETE",
            "task_events keep their content: an event cannot be deleted",
        ),
        # A trigger's WHEN cannot hold a subquery on PostgreSQL: the function asks.
        "CREATE FUNCTION tom_proposals_keep_decided() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF EXISTS (SELECT 1 FROM approvals WHERE proposal_id = OLD.id) THEN "
        "RAISE EXCEPTION 'skill_to_logic_proposals: a proposal that has approvals cannot be "
        "deleted' USING ERRCODE = '23000'; END IF; RETURN OLD; END $$",
        "CREATE TRIGGER proposals_keep_decided BEFORE DELETE ON skill_to_logic_proposals "
        "FOR EACH ROW EXECUTE FUNCTION tom_proposals_keep_decided()",
    ]


def _table_of(name: str) -> str:
    for table in (*APPEND_ONLY, "task_events"):
        if name.startswith(table):
            return table
    return "skill_to_logic_proposals"


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0002_lineage_indexes")]

    operations = [
        RunSQLFor(
            sqlite=TRIGGERS,
            reverse_sqlite=[f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGER_NAMES],
            postgresql=_postgresql(),
            reverse_postgresql=[pg_drop_trigger(n, _table_of(n)) for n in TRIGGER_NAMES]
            + [
                "DROP FUNCTION IF EXISTS tom_proposals_keep_decided()",
                "DROP FUNCTION IF EXISTS tom_refuse()",
            ],
        )
    ]
