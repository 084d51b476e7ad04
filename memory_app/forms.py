"""The forms' shared floor: ISO-8601 times, keyset cursors, and the list pages' filter form
(facets cached per change token). Bad values get a clear message, never a 500; each
wing's forms (``memory_app.<wing>.forms``) build on these."""

import base64
import binascii
import hashlib
import json
from typing import Any

from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models

from memory_app.base_models import ChangeToken
from memory_app.fields import sql_integer
from memory_app.timeutil import normalize_iso


class IsoDateTimeField(forms.CharField):
    """Any ISO-8601 date or date-time (UTC unless it says otherwise), cleaned to canonical text."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "2026-11-24T09:00Z"}))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return normalize_iso(value)
        except ValueError:
            raise ValidationError(
                "Enter an ISO-8601 date or time, e.g. 2026-11-24 or 2026-11-24T09:00Z."
            ) from None


def encode_cursor(*values: object) -> str:
    """An opaque keyset cursor for the next page."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


class CursorField(forms.CharField):
    """A keyset cursor made by ``encode_cursor``; a damaged one is a clear form error."""

    def __init__(self, length: int, *, integers: bool = False, **kwargs):
        self.length = length
        self.integers = integers
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            decoded = json.loads(base64.urlsafe_b64decode(value.encode()))
        except (binascii.Error, ValueError):
            decoded = None
        if not (
            isinstance(decoded, list)
            and len(decoded) == self.length
            and all(sql_integer(v) or (isinstance(v, str) and not self.integers) for v in decoded)
        ):
            raise ValidationError("This page link is damaged; showing the first page.")
        return tuple(decoded)


def text_field(label: str, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=200, **kwargs)


def choice_field(label: str, choices: type[models.TextChoices] | None) -> forms.ChoiceField:
    """A filter on a column with a fixed vocabulary: its values, or any.

    A list page passes its rows, and the form then offers the values actually stored
    (``ListFilterForm.FACETS``); ``choices`` is the vocabulary without them.
    """
    values = choices.choices if choices else []
    return forms.ChoiceField(label=label, required=False, choices=[("", "any"), *values])


# A facet lists at most this many values, the most frequent first.
FACET_VALUES = 100


class ListFilterForm(forms.Form):
    """A list page's filters: the form applies its valid fields to the list's queryset.

    Invalid fields are shown as errors beside the list and ignored. Columns with a fixed
    vocabulary are facets (as Datasette shows them): selects of the values stored, each
    with the number of rows it would leave given the other filters, one GROUP BY per
    facet (never a query per value). Free text matches case-insensitively, anywhere.
    """

    EXACT: tuple[str, ...] = ()  # fields that filter their column by equality
    FACETS: tuple[str, ...] = ()  # of those, the ones shown as selects with counts
    FREE_TEXT: tuple[str, ...] = ()  # fields matched case-insensitively, anywhere
    # Fields that do not narrow the rows (paging, the search text).
    NOT_FILTERING = frozenset({"q", "after", "match_after", "page", "sort"})

    def __init__(self, data=None, *, rows: models.QuerySet | None = None, **kwargs):
        super().__init__(data, **kwargs)
        self.rows = rows
        self._counts: dict[str, dict[str, int]] = {}
        token = ChangeToken.of(rows.model._meta.db_table) if rows is not None else ""
        for name in self.FACETS if rows is not None else ():
            field = self.fields[name]
            # The contract's vocabulary first, then whatever else other writers stored.
            vocabulary = [str(v) for v, _ in field.choices if v]
            self._counts[name] = _counted(rows, name, token)
            stored = [v for v in self._counts[name] if v not in vocabulary]
            field.choices = [("", "any"), *[(v, v) for v in vocabulary + stored]]

    def chosen(self, without: str | None = None) -> dict[str, Any]:
        self.is_valid()
        return {
            k: v for k, v in self.cleaned_data.items() if v not in (None, "", []) and k != without
        }

    def filter(self, qs: models.QuerySet, without: str | None = None) -> models.QuerySet:
        chosen = self.chosen(without)
        qs = qs.filter(**{f: chosen[f] for f in self.EXACT if f in chosen})
        return qs.filter(**{f"{f}__icontains": chosen[f] for f in self.FREE_TEXT if f in chosen})

    def facet_fields(self) -> list[forms.BoundField]:
        """The facets' fields: what a list filtered in place sends again with its rows (its
        counts follow the filter)."""
        return [self[name] for name in self.FACETS]

    def count_facets(self) -> None:
        """Label each facet value with its count among the rows the other filters leave."""
        for name in self.FACETS if self.rows is not None else ():
            counts = self._counts[name]
            if self.chosen(without=name).keys() - self.NOT_FILTERING:  # narrowed: count again
                narrowed = self.filter(self.rows, without=name)
                counts = {str(v): n for v, n in _counts(narrowed, name)}
            field = self.fields[name]
            field.choices = [("", "any")] + [
                (value, f"{value} ({counts.get(value, 0)})") for value, _ in field.choices[1:]
            ]


def _counted(rows: models.QuerySet, column: str, token: str) -> dict[str, int]:
    """``_counts`` of a whole list, cached until any writer changes the table's rows (its
    ``ChangeToken``), so the counts of a large list are not recounted on every request."""
    described = (rows.model._meta.db_table, token, str(rows.query), column)
    key = "facet:" + hashlib.blake2b(repr(described).encode()).hexdigest()
    counts = cache.get(key)
    if counts is None:
        counts = {str(v): n for v, n in _counts(rows, column)}
        cache.set(key, counts, 3600)
    return counts


def _counts(rows: models.QuerySet, column: str) -> list[tuple[object, int]]:
    """The values stored in a column with their number of rows, most frequent first."""
    counted = rows.order_by().values_list(column).annotate(n=models.Count("*"))
    return [(v, n) for v, n in counted.order_by("-n", column)[:FACET_VALUES] if v not in (None, "")]


# A browser's date-time picker; it sends "2026-11-24T09:00", which is read as UTC.
