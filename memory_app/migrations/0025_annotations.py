"""Annotations (issue #23): score configs, annotations and their scores, our own tables beside
v1 (memory_app/review/models.py); annotations and scores append-only on both engines. A
store's bootstrap makes the three tables too (contract/tommemory_schema.sql), so a file a
runtime annotated is adopted as it is.

And the review-admin role: it reads as a reviewer does and manages score configs (and,
from 0026, review queues) — access.can_manage_reviews.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

import memory_app.ids
from memory_app.adoption import CreateOrAdoptModel  # a store's bootstrap makes them too
from memory_app.vendor_sql import append_only

_0004 = importlib.import_module("memory_app.migrations.0004_role_groups")
GROUP = "review-admin"
PERMISSIONS = [
    *_0004.READ,
    "add_scoreconfig",
    "change_scoreconfig",
    "view_scoreconfig",
    "view_annotation",
    "view_annotationscore",
]
ANNOTATIONS = "tommemory_annotations"
SCORES = "tommemory_annotation_scores"


def create_group(apps, schema_editor):
    using = schema_editor.connection.alias
    # The permissions of the models made above, made now so the group can hold them (0004).
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        _0004.create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = models_module
    group, _ = apps.get_model("auth", "Group").objects.using(using).get_or_create(name=GROUP)
    group.permissions.add(
        *apps.get_model("auth", "Permission")
        .objects.using(using)
        .filter(content_type__app_label="memory_app", codename__in=PERMISSIONS)
    )


def remove_group(apps, schema_editor):
    using = schema_editor.connection.alias
    apps.get_model("auth", "Group").objects.using(using).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0024_overview_indexes")]

    operations = [
        CreateOrAdoptModel(
            name="ScoreConfig",
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
                ("name", models.TextField(unique=True)),
                (
                    "data_type",
                    models.TextField(
                        choices=[
                            ("categorical", "Categorical"),
                            ("numeric", "Numeric"),
                            ("boolean", "Boolean"),
                        ]
                    ),
                ),
                ("categories_json", models.TextField(blank=True, null=True)),
                ("min_value", models.FloatField(blank=True, null=True)),
                ("max_value", models.FloatField(blank=True, null=True)),
                ("description", models.TextField(blank=True)),
                ("created_by", models.TextField()),
                ("created_at", models.TextField()),
                ("archived_at", models.TextField(blank=True, null=True)),
            ],
            options={
                "db_table": "tommemory_score_configs",
                "ordering": ("name",),
            },
        ),
        CreateOrAdoptModel(
            name="Annotation",
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
                ("author", models.TextField()),
                ("comment", models.TextField(blank=True)),
                ("correction", models.TextField(blank=True, null=True)),
                ("queue_item_id", models.TextField(blank=True, null=True)),
                ("created_at", models.TextField()),
                (
                    "supersedes",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        related_name="superseded_by",
                        to="memory_app.annotation",
                    ),
                ),
            ],
            options={
                "db_table": ANNOTATIONS,
                "indexes": [
                    models.Index(
                        fields=["target_kind", "target_id"], name="idx_annotations_target"
                    ),
                    models.Index(fields=["created_at", "id"], name="idx_annotations_since"),
                    models.Index(
                        fields=["queue_item_id", "author"], name="idx_annotations_queue_item"
                    ),
                ],
            },
        ),
        CreateOrAdoptModel(
            name="AnnotationScore",
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
                ("value_text", models.TextField(blank=True, null=True)),
                ("value_number", models.FloatField(blank=True, null=True)),
                (
                    "annotation",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        related_name="scores",
                        to="memory_app.annotation",
                    ),
                ),
                (
                    "score_config",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        related_name="scores",
                        to="memory_app.scoreconfig",
                    ),
                ),
            ],
            options={
                "db_table": SCORES,
                "constraints": [
                    models.UniqueConstraint(
                        fields=("annotation", "score_config"), name="uniq_annotation_score"
                    )
                ],
            },
        ),
        append_only(ANNOTATIONS, "an annotation is edited by one that supersedes it"),
        append_only(SCORES, "a score is changed by an annotation that supersedes its own"),
        migrations.RunPython(create_group, remove_group),
    ]
