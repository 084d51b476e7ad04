"""Review queues (issue #23): queues, the score configs each asks for, their items (a turn,
a session or a workflow run, once per queue), and reviewers' reservations of items,
append-only on both engines (memory_app/review/queue_models.py).

Only the dashboard writes these tables (no store's bootstrap makes them, so they are not in
contract/tommemory_schema.sql): an annotation names its queue item by a plain text id.
"""

import django.db.models.deletion
from django.db import migrations, models

import memory_app.ids
from memory_app.vendor_sql import append_only


def _id() -> models.TextField:
    return models.TextField(
        default=memory_app.ids.new_id, editable=False, primary_key=True, serialize=False
    )


def _key(to: str, related_name: str, **kwargs) -> models.ForeignKey:
    return models.ForeignKey(
        on_delete=django.db.models.deletion.DB_CASCADE,
        related_name=related_name,
        to=f"memory_app.{to}",
        **kwargs,
    )


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0025_annotations")]

    operations = [
        migrations.CreateModel(
            name="ReviewQueue",
            fields=[
                ("id", _id()),
                ("name", models.TextField(unique=True)),
                ("description", models.TextField(blank=True)),
                ("reviewers_per_item", models.IntegerField()),
                ("reservation_seconds", models.IntegerField(default=900)),
                ("created_by", models.TextField()),
                ("created_at", models.TextField()),
            ],
            options={
                "db_table": "tommemory_review_queues",
                "ordering": ("name",),
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("reviewers_per_item__gte", 1)),
                        name="queue_reviewers_at_least_one",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("reservation_seconds__gte", 1)),
                        name="queue_reservation_positive",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ReviewQueueConfig",
            fields=[
                ("id", _id()),
                ("position", models.IntegerField()),
                ("queue", _key("reviewqueue", "configs", db_index=False)),
                ("score_config", _key("scoreconfig", "+")),
            ],
            options={
                "db_table": "tommemory_review_queue_configs",
                "ordering": ("position",),
                "constraints": [
                    models.UniqueConstraint(
                        fields=("queue", "score_config"), name="uniq_review_queue_config"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ReviewQueueItem",
            fields=[
                ("id", _id()),
                (
                    "target_kind",
                    models.TextField(
                        choices=[
                            ("turn", "Turn"),
                            ("session", "Session"),
                            ("workflow_run", "workflow run"),
                        ]
                    ),
                ),
                ("target_id", models.TextField()),
                ("added_by", models.TextField()),
                ("added_at", models.TextField()),
                ("queue", _key("reviewqueue", "items", db_index=False)),
            ],
            options={
                "db_table": "tommemory_review_queue_items",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("queue", "target_kind", "target_id"),
                        name="uniq_review_queue_item",
                    )
                ],
                "indexes": [
                    models.Index(fields=["queue", "added_at", "id"], name="idx_review_items_order")
                ],
            },
        ),
        migrations.CreateModel(
            name="ReviewReservation",
            fields=[
                ("id", _id()),
                ("reviewer", models.TextField()),
                ("reserved_at", models.TextField()),
                ("expires_at", models.TextField()),
                ("item", _key("reviewqueueitem", "reservations", db_index=False)),
            ],
            options={
                "db_table": "tommemory_review_reservations",
                "indexes": [
                    models.Index(fields=["item", "expires_at"], name="idx_review_reservations_live")
                ],
            },
        ),
        append_only("tommemory_review_reservations", "a reservation cannot be changed or deleted"),
    ]
