"""The model of the PostgreSQL turn positions table that 0006 makes (state only).

The table exists on PostgreSQL only, so this records the model without touching the
database; Django still lists it among its tables where it exists (flushing it with the
turns it references).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0013_postgresql_functions")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TurnPosition",
                    fields=[
                        ("position", models.BigAutoField(primary_key=True, serialize=False)),
                        (
                            "turn",
                            models.OneToOneField(
                                db_column="turn_id",
                                on_delete=django.db.models.deletion.DB_CASCADE,
                                related_name="position",
                                to="memory_app.turn",
                            ),
                        ),
                    ],
                    options={"db_table": "tommemory_turn_positions"},
                )
            ],
            database_operations=[],
        )
    ]
