"""Copy the runtime memory between a SQLite file and PostgreSQL, either way.

    python manage.py copy_database --from memory/tom_runtime.sqlite --to postgres://.../tom
    python manage.py copy_database --from postgres://.../tom --to /srv/tom/copy.sqlite

The target is migrated first, then every v1 row and our own (decision evidence, the
proposal change log, the decision log, profile withdrawals, reviewers' annotations with
their scores and score configs, review queues with their items and reservations, the
sign-in accounts and their roles) is copied in batches, parents before children, turns in
the order they were added (search pages by it), all in one transaction on the target: a row
the target cannot hold stops the copy and leaves the target's rows as they were. A target
that already holds rows is refused unless ``--into-non-empty``. The copy ends by comparing
the row counts of every table and running ``verify_audit`` on the target.
"""

import json
import shlex
import time
from pathlib import Path

import dj_database_url
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import DatabaseError, connections, models, transaction
from django.test.utils import override_settings

from memory_app.models import V1_MODELS
from memory_app.notify.models import Digest, WebhookDelivery, WebhookEndpoint
from memory_app.profiles.models import ProfileWithdrawal
from memory_app.promotion import log_tiles
from memory_app.promotion.models import ApprovalEvidence, AuditLeaf, Override, ProposalChange
from memory_app.review.models import Annotation, AnnotationScore, ScoreConfig
from memory_app.review.queue_models import (
    ReviewQueue,
    ReviewQueueConfig,
    ReviewQueueItem,
    ReviewReservation,
)
from memory_app.runtime.models import Turn
from memory_app.store import RuntimeMemoryStore

SOURCE, TARGET = "copy_source", "copy_target"
# Copied in this order: every row's parents come before it.
COPIED = [
    *V1_MODELS, ApprovalEvidence, Override, ProposalChange, AuditLeaf, ProfileWithdrawal, User,
    WebhookEndpoint, WebhookDelivery, Digest, ScoreConfig, Annotation, AnnotationScore,
    ReviewQueue, ReviewQueueConfig, ReviewQueueItem, ReviewReservation,
]  # fmt: skip


class ToTarget:
    """A database router sending every query without a database to the copy's target."""

    def db_for_read(self, model, **hints):
        return TARGET

    def db_for_write(self, model, **hints):
        return TARGET


def is_postgresql(spec: str) -> bool:
    """Whether ``--from``/``--to`` names a PostgreSQL database (else a SQLite file)."""
    return spec.startswith(("postgres://", "postgresql://"))


def database_settings(spec: str) -> dict:
    """``DATABASES`` settings for a PostgreSQL URL or a SQLite file path."""
    if is_postgresql(spec):
        return dj_database_url.parse(spec)
    path = Path(spec).expanduser().resolve()
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": settings.SQLITE_OPTIONS,
    }


class Command(BaseCommand):
    help = "Copy every v1 row and tommemory's own between a SQLite file and PostgreSQL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="source", required=True, help="SQLite path or URL")
        parser.add_argument("--to", dest="target", required=True, help="URL or SQLite path")
        parser.add_argument("--batch-size", type=int, default=5_000)
        parser.add_argument(
            "--into-non-empty",
            action="store_true",
            help="copy even when the target already holds rows (ids must not collide)",
        )

    def handle(self, *args, source: str, target: str, batch_size: int, into_non_empty: bool,
               **options) -> None:  # fmt: skip
        if database_settings(source) == database_settings(target):
            raise CommandError("--from and --to name the same database")
        if not is_postgresql(source) and not Path(source).exists():
            raise CommandError(f"no such SQLite file: {source}")
        configured = connections.configure_settings(
            {
                **connections.settings,
                SOURCE: database_settings(source),
                TARGET: database_settings(target),
            }
        )
        connections.settings.update({a: configured[a] for a in (SOURCE, TARGET)})
        try:
            self._copy(source, target, batch_size, into_non_empty)
        finally:
            connections[SOURCE].close()
            connections[TARGET].close()

    def _copy(self, source: str, target: str, batch_size: int, into_non_empty: bool) -> None:
        missing = [m._meta.db_table for m in COPIED if not self._exists(SOURCE, m)]
        if (
            missing
            and not is_postgresql(source)
            and all(self._exists(SOURCE, m) for m in V1_MODELS)
        ):
            # A valid v1 file a runtime made (or a store bootstrapped) that the dashboard
            # has not adopted, or not migrated since an upgrade. The copy does not migrate
            # its source: it says how.
            raise CommandError(
                f"{source} is a runtime memory v1 file the dashboard has not adopted yet (it "
                f"has no table {missing[0]}). Adopt it first, every row stays: "
                f"TOM_RUNTIME_DB={shlex.quote(source)} python manage.py migrate; then copy "
                "it. Nothing was copied."
            )
        if missing:
            raise CommandError(f"{source} has no table {missing[0]}: not a tommemory database")
        self.stderr.write(f"Migrating {target} ...")
        # django-tasks-db's migration 0016 updates rows without naming the database it
        # migrates: route it to the target, not to this process's default database.
        with override_settings(DATABASE_ROUTERS=[ToTarget()]):
            call_command("migrate", database=TARGET, verbosity=0, interactive=False)
        if not into_non_empty:
            for model in COPIED:
                if model.objects.using(TARGET).exists():
                    raise CommandError(
                        f"{target} already holds rows ({model._meta.db_table}); nothing was "
                        "copied. Copy into an empty database, or pass --into-non-empty."
                    )
        started = time.monotonic()
        try:
            with transaction.atomic(using=TARGET):
                for model in COPIED:
                    self._copy_table(model, batch_size)
                self._copy_roles()
                self._reset_sequences()
                # The log's tiles are made from the log copied, not copied (derived rows).
                log_tiles.rebuild(connections[TARGET])
        except DatabaseError as error:
            raise CommandError(
                f"{target} cannot hold a row of the source: {error}. Nothing was copied."
            ) from error
        self._compare_counts()
        self.stderr.write(f"Copied in {time.monotonic() - started:.1f} s; verifying decisions")
        call_command("verify_audit", database=TARGET, stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(self.style.SUCCESS(f"Copied {source} to {target}."))

    @staticmethod
    def _exists(alias: str, model: type[models.Model]) -> bool:
        return model._meta.db_table in connections[alias].introspection.table_names()

    def _source_rows(self, model: type[models.Model]) -> models.QuerySet:
        rows = model.objects.using(SOURCE)
        if model is Turn:
            # Turns in the order they were added: search results are ordered by it.
            return rows.with_rowid().order_by("search_rowid")
        return rows.order_by("pk")

    def _copy_table(self, model: type[models.Model], batch_size: int) -> None:
        table = model._meta.db_table
        total = model.objects.using(SOURCE).count()
        columns = [f.attname for f in model._meta.local_fields]
        source = connections[SOURCE]
        copied = 0
        self._progress(table, copied, total)
        # The raw values, as stored: no field conversion on the way.
        query = self._source_rows(model).values_list(*columns).query
        sql, params = query.get_compiler(using=SOURCE).as_sql()
        # Every value goes over as stored, but for Django's own date-time and JSON columns
        # (accounts, notifications), which each engine keeps in its own form (SQLite: text;
        # PostgreSQL: timestamptz, jsonb).
        adapters = {
            n: adapter for n, f in enumerate(model._meta.local_fields)
            if (adapter := self._adapter(f))
        }  # fmt: skip
        with source.cursor() as cursor:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(batch_size):
                if adapters:
                    batch = [
                        tuple(
                            adapters[n](v) if n in adapters and v is not None else v
                            for n, v in enumerate(row)
                        )
                        for row in batch
                    ]
                RuntimeMemoryStore.bulk_insert(model, batch, using=TARGET)
                copied += len(batch)
                self._progress(table, copied, total)
        if model is Turn:
            RuntimeMemoryStore.settle_search(using=TARGET)
        self.stderr.write("")

    @staticmethod
    def _adapter(field: models.Field):
        """How a value of a Django date-time or JSON column is written on the target."""
        target = connections[TARGET]
        if isinstance(field, models.DateTimeField):
            return target.ops.adapt_datetimefield_value
        if isinstance(field, models.JSONField):
            return lambda value: field.get_db_prep_value(
                json.loads(value) if isinstance(value, str) else value, connection=target
            )
        return None

    def _copy_roles(self) -> None:
        """Each account's role groups, matched by group name (their ids differ)."""
        groups = {g.name: g.pk for g in Group.objects.using(TARGET)}
        through = User.groups.through
        memberships = [
            through(user_id=user_id, group_id=groups[name])
            for user_id, name in through.objects.using(SOURCE).values_list("user_id", "group__name")
            if name in groups
        ]
        through.objects.using(TARGET).bulk_create(memberships)

    @staticmethod
    def _reset_sequences() -> None:
        """PostgreSQL: ids were copied, not drawn, so the id sequences start after them."""
        target = connections[TARGET]
        with target.cursor() as cursor:
            for sql in target.ops.sequence_reset_sql(no_style(), [User, ProposalChange]):
                cursor.execute(sql)

    def _progress(self, table: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        bar = "#" * filled + "-" * (width - filled)
        self.stderr.write(f"\r{table:32} [{bar}] {done:>10,}/{total:,}", ending="")
        self.stderr.flush()

    def _compare_counts(self) -> None:
        for model in COPIED:
            theirs = model.objects.using(SOURCE).count()
            ours = model.objects.using(TARGET).count()
            if ours < theirs:
                raise CommandError(
                    f"{model._meta.db_table}: {theirs:,} rows in the source, {ours:,} copied"
                )
            self.stdout.write(f"{model._meta.db_table:32} {theirs:>12,} rows")
