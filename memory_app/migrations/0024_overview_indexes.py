"""The overview's aggregates read through indexes on both engines (issue #22).

For sessions, turns, workflow runs and proposals, two partial indexes over the time the
overview buckets by, declared alike for SQLite and PostgreSQL:

- the rows whose time is canonical (``expressions.canonical_time_index``): a window is a
  range of such texts, and the bucket a prefix of the text; the turns' index is led by
  the hour (``expressions.hourly_index``: the first 13 characters) and holds
  ``token_count``, so turns and tokens per hour come from the index alone, in order (no
  sort of a window's hundreds of thousands of turns);
- the few rows whose time is in another form or unreadable
  (``expressions.other_times_prefix_index``, their first 64 characters): read whole and
  placed by ``timeutil`` in Python.

Both hold bounded keys on PostgreSQL (issue #20, point 8), and SQLite's need no function of
ours, so other writers still write these tables without it. The decision log gains
(kind, logged_at): a decision counts no later than the log recorded it, so those counted
in a window are among those recorded since it began.
"""

from django.db import migrations, models
from django.db.models.functions import Left

from memory_app.adoption import AddOrAdoptIndex
from memory_app.expressions import CanonicalTime, HourOf


def _canonical(column: str, name: str, *also: str) -> models.Index:
    return models.Index(
        condition=models.Q(CanonicalTime(models.F(column))), fields=[column, *also], name=name
    )


def _other(column: str, name: str) -> models.Index:
    return models.Index(
        Left(column, 64),
        condition=models.Q(CanonicalTime(models.F(column)), _negated=True),
        name=name,
    )


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0023_profile_withdrawals")]

    operations = [
        # Also in contract/tommemory_schema.sql: a file a store bootstrapped has it already.
        AddOrAdoptIndex(
            model_name="auditleaf",
            index=models.Index(fields=["kind", "logged_at"], name="idx_audit_log_logged"),
        ),
        migrations.AddIndex(
            model_name="proposal", index=_canonical("created_at", "idx_proposals_canonical")
        ),
        migrations.AddIndex(
            model_name="proposal", index=_other("created_at", "idx_proposals_other_times")
        ),
        migrations.AddIndex(
            model_name="session", index=_canonical("started_at", "idx_sessions_canonical")
        ),
        migrations.AddIndex(
            model_name="session", index=_other("started_at", "idx_sessions_other_times")
        ),
        migrations.AddIndex(
            model_name="turn",
            index=models.Index(
                HourOf(models.F("created_at")),
                models.F("created_at"),
                models.F("token_count"),
                condition=models.Q(CanonicalTime(models.F("created_at"))),
                name="idx_turns_canonical",
            ),
        ),
        migrations.AddIndex(model_name="turn", index=_other("created_at", "idx_turns_other_times")),
        migrations.AddIndex(
            model_name="workflowrun", index=_canonical("started_at", "idx_workflow_runs_canonical")
        ),
        migrations.AddIndex(
            model_name="workflowrun", index=_other("started_at", "idx_workflow_runs_other_times")
        ),
    ]
