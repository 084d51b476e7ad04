"""What every wing's admin shares: values shown as stored, v1 tables' admins, read-only
append-only rows and inlines, estimated counts for big tables."""

from datetime import timedelta
from functools import cached_property

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.core.paginator import Paginator
from django.db import connection
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from memory_app.fields import IntegerColumn, JSONTextField, RealColumn, TextColumn, TimestampField
from memory_app.time_element import time_element
from memory_app.timeutil import format_iso, now

INLINE_ROWS = 50


class EstimatedCountPaginator(Paginator):
    """Counts filtered lists; estimates an unfiltered one without reading the whole table.

    SQLite: the largest rowid (exact while rows are only appended). PostgreSQL: the
    planner's row estimate, which ANALYZE keeps; below ``EXACT_BELOW`` rows (or before the
    first ANALYZE) counting is cheap, and the count is exact.
    """

    EXACT_BELOW = 100_000

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is None or query.has_filters():
            return super().count
        table = self.object_list.model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table]
                )
                estimate = cursor.fetchone()[0]
                return estimate if estimate >= self.EXACT_BELOW else super().count
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT MAX(rowid) FROM {quoted}")  # noqa: S608 (a model's table)
            return cursor.fetchone()[0] or 0


def recent_filter(field: str, label: str) -> type[admin.SimpleListFilter]:
    """A list filter for rows whose timestamp ``field`` is within the last day, week or month."""

    class RecentFilter(admin.SimpleListFilter):
        title = label
        parameter_name = f"{field}_within"
        spans = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}

        def lookups(self, request, model_admin):
            return [("1d", "last 24 hours"), ("7d", "last 7 days"), ("30d", "last 30 days")]

        def queryset(self, request, queryset):
            span = self.spans.get(self.value())
            if span is None:
                return queryset
            since = format_iso(now() - span)
            return queryset.filter(**{f"{field}__gte": since})

    return RecentFilter


def link_to(row, field: str) -> str:
    """An admin link to the row ``row.<field>`` points at; a dash, or the dangling id marked.

    Another writer may have left a link to a row that no longer exists (foreign keys off).
    """
    target_id = getattr(row, row._meta.get_field(field).attname)
    if target_id is None:
        return "—"
    try:
        target = getattr(row, field)
    except ObjectDoesNotExist:
        target = None  # a required link to a missing row (a nullable one reads as None)
    if target is None:
        return format_html('<span class="ts-raw" title="no such row">{}</span>', target_id)
    url = reverse(f"admin:memory_app_{target._meta.model_name}_change", args=[quote(target.pk)])
    return format_html('<a href="{}">{}</a>', url, str(target))


AS_STORED = "_as_stored"


def _column(model, name: object):
    try:
        return model._meta.get_field(name) if isinstance(name, str) else None
    except FieldDoesNotExist:
        return None


class ShowsValuesAsStored:
    """Number and time columns shown as the dashboard shows them, through displays.

    Another writer may store text in an INTEGER or REAL column; the admin's number
    formatting fails on some of it ("1.2.3"), so such columns are shown through a
    ``<name>_as_stored`` display that prints any value as it is, marked when it is not a
    number. Time columns show local time with UTC on hover (``{% ts %}``, localized by
    app.js), an unreadable time as stored and marked.
    """

    def __getattr__(self, name: str):
        if not name.endswith(AS_STORED):
            raise AttributeError(name)
        column = name.removesuffix(AS_STORED)
        is_time = isinstance(_column(self.model, column), TimestampField)

        @admin.display(description=column.replace("_", " "), ordering=column)
        def show(row):
            value = getattr(row, column)
            if is_time:
                return time_element(value)
            if value is None or isinstance(value, int | float):
                return value
            return format_html('<span class="ts-raw" title="not a number">{}</span>', value)

        return show

    def _as_stored(self, names):
        shown = (IntegerColumn, RealColumn, TimestampField)
        return [n + AS_STORED if isinstance(_column(self.model, n), shown) else n for n in names]


class V1Admin(ShowsValuesAsStored, admin.ModelAdmin):
    """The admin of a v1 table.

    Rows are listed with their links prefetched (``list_prefetch``), not joined: a join
    on a required link would hide a row whose parent another writer removed.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    list_prefetch: tuple[str, ...] = ()
    # Short text columns (names, statuses, times) edit on one line; JSON and long text do not.
    formfield_overrides = {
        TextColumn: {"widget": forms.TextInput(attrs={"size": 60})},
        JSONTextField: {"widget": forms.Textarea(attrs={"rows": 6})},
    }
    long_text: tuple[str, ...] = ()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.long_text:
            kwargs["widget"] = forms.Textarea(attrs={"rows": 6})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*self.list_prefetch)

    def get_list_display(self, request):
        return self._as_stored(super().get_list_display(request))

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            return self._as_stored(fields)
        return fields


class AppendOnlyAdmin(V1Admin):
    """Rows of the audit trail: viewed, never added, changed or deleted here."""

    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FirstRowsFormSet(BaseInlineFormSet):
    """Inline only the first rows: a session may hold thousands of turns."""

    def get_queryset(self):
        if not hasattr(self, "_first_rows"):
            self._first_rows = super().get_queryset()[:INLINE_ROWS]
        return self._first_rows


class ReadOnlyInline(ShowsValuesAsStored, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    formset = FirstRowsFormSet

    def view_on_site(self, row):
        """The row's dashboard page, linked directly: the admin's own "view on site"
        redirect cannot be reversed for an id another writer gave a newline."""
        page = getattr(row, "get_absolute_url", None)
        return page() if page else None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return self._as_stored(self.fields)

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


# --- conversations --------------------------------------------------------------------------
