"""Break-glass decisions (memory_app.models.Override): their table, append-only on both engines."""

import django.db.models.deletion
from django.db import migrations, models

import memory_app.ids
from memory_app.adoption import CreateOrAdoptModel  # a store's bootstrap makes it too
from memory_app.vendor_sql import append_only

TABLE = "tommemory_overrides"


class Migration(migrations.Migration):
    dependencies = [
        ("memory_app", "0015_audit_log"),
    ]

    operations = [
        CreateOrAdoptModel(
            name="Override",
            fields=[
                (
                    "id",
                    models.TextField(
                        default=memory_app.ids.new_id,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("actor", models.TextField()),
                ("reason", models.TextField()),
                ("decided_at", models.TextField()),
                ("validation_id", models.TextField(blank=True, null=True)),
                ("proposal_sha256", models.TextField()),
                ("risk_level", models.TextField(blank=True, null=True)),
                (
                    "proposal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        related_name="overrides",
                        to="memory_app.proposal",
                    ),
                ),
            ],
            options={
                "db_table": TABLE,
            },
        ),
        append_only(TABLE, "a break-glass decision cannot be changed or deleted"),
    ]
