"""Notifications (memory_app.notify): webhook endpoints, their delivery log, email digests."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import memory_app.models


class Migration(migrations.Migration):
    dependencies = [
        ("memory_app", "0016_overrides"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                (
                    "url",
                    models.URLField(
                        help_text="http:// or https://",
                        max_length=2000,
                        validators=[django.core.validators.URLValidator(schemes=["http", "https"])],
                    ),
                ),
                (
                    "secret",
                    models.CharField(
                        default=memory_app.models.new_webhook_secret,
                        help_text="signs each delivery: HMAC-SHA256 of '<timestamp>.<body>' (README)",
                        max_length=200,
                    ),
                ),
                (
                    "events",
                    models.JSONField(default=list, help_text="the events this endpoint receives"),
                ),
                (
                    "format",
                    models.CharField(
                        choices=[
                            ("json", "JSON, signed (X-Tom-Signature)"),
                            ("slack", "Slack incoming webhook"),
                            ("teams", "Microsoft Teams workflow (Adaptive Card)"),
                        ],
                        default="json",
                        max_length=10,
                    ),
                ),
                ("active", models.BooleanField(default=True)),
                ("log_index", models.BigIntegerField(default=-1, editable=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "db_table": "tommemory_webhook_endpoints",
            },
        ),
        migrations.CreateModel(
            name="Digest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sent_at", models.DateTimeField()),
                ("proposals", models.JSONField(default=list)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        related_name="tommemory_digests",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "tommemory_digests",
                "indexes": [models.Index(fields=["user", "-sent_at"], name="idx_digests_user")],
            },
        ),
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "event",
                    models.CharField(
                        choices=[
                            ("decision.needed", "a decision is needed (with the missing types)"),
                            ("decision.recorded", "a decision was recorded (break-glass too)"),
                            ("proposal.approved", "a proposal was approved"),
                            ("proposal.rejected", "a proposal was rejected"),
                            ("proposal.promoted", "a proposal was promoted"),
                            ("profile.published", "a profile version was published"),
                        ],
                        max_length=40,
                    ),
                ),
                (
                    "event_id",
                    models.CharField(help_text="the same for every endpoint", max_length=40),
                ),
                ("body", models.TextField(help_text="the exact body posted")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("delivered", "Delivered"),
                            ("retrying", "Retrying"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("attempts", models.IntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("delivered_at", models.DateTimeField(blank=True, null=True)),
                ("response_status", models.IntegerField(blank=True, null=True)),
                ("response_body", models.TextField(blank=True)),
                ("error", models.TextField(blank=True)),
                ("duration_ms", models.IntegerField(blank=True, null=True)),
                (
                    "endpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        related_name="deliveries",
                        to="memory_app.webhookendpoint",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "webhook deliveries",
                "db_table": "tommemory_webhook_deliveries",
                "indexes": [
                    models.Index(fields=["endpoint", "-created_at"], name="idx_deliveries_endpoint")
                ],
            },
        ),
    ]
