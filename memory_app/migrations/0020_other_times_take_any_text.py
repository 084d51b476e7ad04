"""Rebuild the partial indexes of 0019 so that they never refuse a row the v1 DDL accepts.

Their condition (``expressions.CanonicalTime``) called SQLite's julianday() on any text of
the time column; julianday() reads 'now' (in any case) as the current moment, which SQLite
refuses in an index, so another writer's row with such a time was refused. The condition now
calls julianday() only on a text of the canonical shape. An index keeps the SQL it was made
with: each is dropped and made again with the condition as ``CanonicalTime`` now writes it
(the same text the activity queries carry, so the indexes still serve them). The state of
the models does not change. PostgreSQL's condition never called a date parser on other
texts; its indexes are made again all the same, harmlessly.
"""

from django.db import migrations, models

import memory_app.expressions

# (model, time column, columns before it, index name), as 0019 made them.
OTHER_TIMES = [
    ("approval", "decided_at", [], "idx_approvals_other_times"),
    ("behaviorprofile", "created_at", [], "idx_behavior_other_times"),
    ("deployoutcome", "deployed_at", [], "idx_deploys_other_times"),
    ("personalityprofile", "created_at", [], "idx_personality_other_times"),
    ("taskevent", "created_at", ["event_level"], "idx_task_events_other_times"),
]


def _rebuilt(model: str, column: str, after: list[str], name: str) -> list:
    return [
        migrations.RemoveIndex(model_name=model, name=name),
        migrations.AddIndex(
            model_name=model,
            index=models.Index(
                condition=models.Q(
                    memory_app.expressions.CanonicalTime(models.F(column)), _negated=True
                ),
                fields=[*after, column],
                name=name,
            ),
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0019_activity_time_indexes")]

    operations = [op for spec in OTHER_TIMES for op in _rebuilt(*spec)]
