"""Finding evidence (issue #23): which annotations a reviewer's proposal rests on
(memory_app/review/finding_models.py), append-only on both engines and a leaf of the
decision log (contract/decision_log.json). A store's bootstrap makes the table too
(contract/tommemory_schema.sql), so a file another writer linked is adopted as it is."""

import django.db.models.deletion
from django.db import migrations, models

import memory_app.ids
from memory_app.adoption import CreateOrAdoptModel  # a store's bootstrap makes it too
from memory_app.vendor_sql import append_only

TABLE = "tommemory_finding_evidence"


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0026_review_queues")]

    operations = [
        CreateOrAdoptModel(
            name="FindingEvidence",
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
                (
                    "proposal",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        related_name="finding_evidence",
                        to="memory_app.proposal",
                    ),
                ),
                (
                    "annotation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        related_name="finding_evidence",
                        to="memory_app.annotation",
                    ),
                ),
                ("created_at", models.TextField()),
            ],
            options={
                "db_table": TABLE,
                "constraints": [
                    models.UniqueConstraint(
                        fields=("proposal", "annotation"), name="uniq_finding_evidence"
                    )
                ],
            },
        ),
        append_only(TABLE, "evidence of a proposal cannot be changed or deleted"),
    ]
