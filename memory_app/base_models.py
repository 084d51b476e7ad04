"""What every wing's models share: append-only rows, a row's page, lenient JSON columns,
the one scale of levels (an event's level, a proposal's risk), and the change tokens
every cached list fragment is keyed by."""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from memory_app.jsontext import ParsedJSON, parse_json_text


class Level(models.TextChoices):
    """Event level and proposal risk share one scale."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete a row of the audit trail."""


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk changes and deletes are refused: the audit trail only grows."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: rows cannot be updated")

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: rows cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: rows cannot be updated")


class AppendOnlyModel(models.Model):
    """A row that is written once and then never changed or deleted.

    The same rule is enforced by SQLite triggers (migration 0003), so raw SQL
    from any process is refused too.
    """

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(
                f"{self._meta.db_table} is append-only: row {self.pk!r} cannot be changed"
            )
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(
            f"{self._meta.db_table} is append-only: row {self.pk!r} cannot be deleted"
        )


class PageMixin:
    """The dashboard page of a row; ``None`` for a row another writer stored without a text id."""

    PAGE: str

    def get_absolute_url(self) -> str | None:
        if not isinstance(self.pk, str):
            return None
        return reverse(self.PAGE, args=[self.pk])


class JSONColumnsMixin:
    """Lenient access to the model's ``*_json`` columns."""

    def json(self, field_name: str) -> ParsedJSON:
        """Parse one JSON column, keeping the raw text when another writer broke it."""
        return parse_json_text(getattr(self, field_name))


class ChangeToken(models.Model):
    """A token that triggers replace whenever any writer changes a listed table's rows
    (migration 0018), so a cache of something computed over the whole table (a list's
    facet counts) is keyed by the rows themselves. Random, so a token never comes back."""

    table = models.TextField(primary_key=True)
    token = models.TextField()

    class Meta:
        db_table = "tommemory_change_tokens"

    def __str__(self) -> str:
        return f"{self.table}: {self.token}"

    @classmethod
    def of(cls, table: str) -> str:
        """The table's current token ("" until a writer first changes it)."""
        return cls.objects.filter(pk=table).values_list("token", flat=True).first() or ""
