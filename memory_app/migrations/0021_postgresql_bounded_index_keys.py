"""PostgreSQL: our indexes on the v1 tables hold bounded keys, so none refuses a row the v1
DDL accepts (issue #20, point 8).

A PostgreSQL B-tree entry holds at most 2,704 bytes (after compression). Our indexes held
whole texts the v1 DDL indexes nowhere (a time, an event level), so another writer's row
with such a text of about 2.7 kB that does not compress was refused by our index alone;
and those holding a key beside another value refused a key just short of what the
primary key's own index takes. On PostgreSQL each is made again holding
(``expressions.INDEXED_CHARACTERS``):

- the lists' start time: its first 64 characters (``expressions.indexed_prefix``); the
  list pages order by that prefix, then by (started_at, id), the order they had;
- the activity timeline's times: only rows whose time is canonical (24 characters), which
  is all its queries read from them (``CanonicalTime`` in their conditions too); by level,
  the level's first 64 characters first (``TaskEventQuerySet.at_level``); the
  ``*_other_times`` indexes hold the instant the timeline orders those rows by;
- the lineage, replay and change-log indexes: the parent's key alone (as long as its
  primary key's index allows at most); a parent's few rows are sorted when read.

SQLite has no such limit and keeps the indexes the models declare: this migration does
nothing there, and the models' state does not change (their ``Meta.indexes`` are SQLite's).
"""

from django.db import migrations, models

from memory_app.expressions import (
    canonical_time,
    indexed_prefix,
    instant_or_empty,
    other_times,
)

# (model, time column, index name) of the timeline's indexes, and of its *_other_times ones.
CANONICAL = [
    ("taskevent", "created_at", "idx_task_events_created"),
    ("approval", "decided_at", "idx_approvals_decided"),
    ("deployoutcome", "deployed_at", "idx_deploys_deployed"),
    ("behaviorprofile", "created_at", "idx_behavior_created"),
    ("personalityprofile", "created_at", "idx_personality_created"),
]
OTHER_TIMES = [
    ("approval", "decided_at", "idx_approvals_other_times"),
    ("deployoutcome", "deployed_at", "idx_deploys_other_times"),
    ("behaviorprofile", "created_at", "idx_behavior_other_times"),
    ("personalityprofile", "created_at", "idx_personality_other_times"),
]
# (model, the parent's key, the column after it, index name).
LINKED = [
    ("taskevent", "workflow_run", "created_at", "idx_task_events_run_created"),
    ("validationresult", "proposal", "validated_at", "idx_validations_proposal"),
    ("approval", "proposal", "decided_at", "idx_approvals_proposal"),
    ("deployoutcome", "proposal", "deployed_at", "idx_deploys_proposal"),
    ("proposalchange", "proposal_id", "id", "idx_proposal_changes"),
]


def _canonical(column: str, name: str, *before) -> models.Index:
    condition = models.Q(canonical_time(column))
    return models.Index(*before, models.F(column), condition=condition, name=name)


def _other(column: str, name: str) -> models.Index:
    return models.Index(instant_or_empty(column), condition=other_times(column), name=name)


# (model, the index as the models declare it, the index PostgreSQL gets).
BOUNDED = [
    *(
        (
            model,
            models.Index(fields=["started_at", "id"], name=name),
            models.Index(indexed_prefix("started_at"), name=name),
        )
        for model, name in [
            ("session", "idx_sessions_started"),
            ("workflowrun", "idx_workflow_runs_started"),
        ]
    ),
    (
        "taskevent",
        models.Index(fields=["event_level", "created_at"], name="idx_task_events_level"),
        _canonical("created_at", "idx_task_events_level", indexed_prefix("event_level")),
    ),
    (
        "taskevent",
        models.Index(
            fields=["event_level", "created_at"],
            condition=other_times("created_at"),
            name="idx_task_events_other_times",
        ),
        _other("created_at", "idx_task_events_other_times"),
    ),
    *(
        (model, models.Index(fields=[column], name=name), _canonical(column, name))
        for model, column, name in CANONICAL
    ),
    *(
        (
            model,
            models.Index(fields=[column], condition=other_times(column), name=name),
            _other(column, name),
        )
        for model, column, name in OTHER_TIMES
    ),
    *(
        (
            model,
            models.Index(fields=[link, column], name=name),
            models.Index(fields=[link], name=name),
        )
        for model, link, column, name in LINKED
    ),
]


def _remake(forwards: bool):
    def remake(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for model_name, declared, bounded in BOUNDED:
            model = apps.get_model("memory_app", model_name)
            gone, made = (declared, bounded) if forwards else (bounded, declared)
            schema_editor.remove_index(model, gone)
            schema_editor.add_index(model, made)

    return remake


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0020_other_times_take_any_text")]

    operations = [migrations.RunPython(_remake(forwards=True), _remake(forwards=False))]
