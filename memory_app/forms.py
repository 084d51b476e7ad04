"""Filter forms for the list pages: bad values get a clear message, never a 500."""

import base64
import binascii
import hashlib
import json
from typing import Any

from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models

from memory_app.base_models import Level
from memory_app.fields import sql_integer
from memory_app.jsontext import parse_json_text
from memory_app.notify.models import ChangeToken
from memory_app.promotion.models import (
    ApprovalType,
    Decision,
    ProposalStatus,
    ProposalType,
    ProposedBy,
)
from memory_app.promotion.people import SAYS_NOTHING, has_visible
from memory_app.runtime.models import (
    NEWEST_FIRST,
    OLDEST_FIRST,
    Channel,
    RunStatus,
    SessionStatus,
    TaskEvent,
    TriggerSource,
)
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


def _text(label: str, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=200, **kwargs)


def _choice(label: str, choices: type[models.TextChoices] | None) -> forms.ChoiceField:
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
DATE_TIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"})


class StartedRangeForm(ListFilterForm):
    sort = forms.ChoiceField(
        required=False,
        choices=[(NEWEST_FIRST, "newest first"), (OLDEST_FIRST, "oldest first")],
        widget=forms.HiddenInput,
    )
    started_from = IsoDateTimeField(label="Started from (UTC)", widget=DATE_TIME_INPUT)
    started_to = IsoDateTimeField(label="Started to (UTC)", widget=DATE_TIME_INPUT)
    after = CursorField(length=2)

    def clean(self):
        data = super().clean()
        start, end = data.get("started_from"), data.get("started_to")
        if start and end and start > end:
            self.add_error("started_to", "The end of the range is before its start.")
        return data

    def filter(self, qs: models.QuerySet, without: str | None = None) -> models.QuerySet:
        chosen = self.chosen(without)
        qs = super().filter(qs, without)
        return qs.started_between(chosen.get("started_from"), chosen.get("started_to"))


class SessionFilterForm(StartedRangeForm):
    q = _text("Search turns", widget=forms.TextInput(attrs={"data-search": "", "type": "search"}))
    actor = _choice("Actor", None)
    channel = _choice("Channel", Channel)
    status = _choice("Status", SessionStatus)
    meta_key = _text("Metadata key")
    meta_value = _text("Metadata value")
    # Search results page by the rowid of the last match shown.
    match_after = CursorField(length=1, integers=True)  # a search_rowid

    field_order = ["q", "actor", "channel", "status", "started_from", "started_to"]
    EXACT = ("actor", "channel", "status")
    FACETS = ("actor", "channel", "status")
    # Filters that narrow the sessions a search looks in (the search itself aside).
    NARROWING = ("actor", "channel", "status", "meta_key", "started_from", "started_to")

    def clean_meta_key(self):
        key = self.cleaned_data["meta_key"]
        if '"' in key:
            raise ValidationError('A metadata key cannot contain ".')
        return key

    def narrows(self) -> bool:
        return any(f in self.chosen() for f in self.NARROWING)

    def filter(self, qs: models.QuerySet, without: str | None = None) -> models.QuerySet:
        chosen = self.chosen(without)
        qs = super().filter(qs, without)
        if "meta_key" in chosen:
            qs = qs.with_metadata(chosen["meta_key"], chosen.get("meta_value"))
        return qs


class WorkflowFilterForm(StartedRangeForm):
    workflow_name = _choice("Workflow", None)
    status = _choice("Status", RunStatus)
    trigger_source = _choice("Trigger", TriggerSource)
    initiated_by = _text("Initiated by")

    field_order = ["workflow_name", "status", "trigger_source", "initiated_by"]
    EXACT = ("workflow_name", "status", "trigger_source")
    FACETS = ("workflow_name", "status", "trigger_source")
    FREE_TEXT = ("initiated_by",)


class ActivityFilterForm(ListFilterForm):
    KINDS = [
        ("events", "Task events"),
        ("approvals", "Approvals"),
        ("deploys", "Deploy outcomes"),
        ("profiles", "Profile versions"),
    ]

    kind = forms.MultipleChoiceField(
        choices=KINDS, required=False, widget=forms.CheckboxSelectMultiple
    )
    level = forms.MultipleChoiceField(
        choices=Level.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    after = CursorField(length=3)

    def count_levels(self) -> None:
        """Label each level with its number of task events (one GROUP BY on the level index)."""
        counted = dict(
            TaskEvent.objects.order_by().values_list("event_level").annotate(n=models.Count("*"))
        )
        self.fields["level"].choices = [
            (value, f"{label} ({counted.get(value, 0)})") for value, label in Level.choices
        ]

    def clean_after(self):
        cursor = self.cleaned_data["after"]
        if cursor is not None and not all(isinstance(v, str) for v in cursor):
            raise ValidationError("This page link is damaged; showing the first page.")
        return cursor


class ProposalFilterForm(ListFilterForm):
    WAITING = "waiting"
    STATUS_CHOICES = [
        (WAITING, "waiting for a decision"),
        ("", "any status"),
        *ProposalStatus.choices,
    ]

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, initial=WAITING)
    risk_level = _choice("Risk", Level)
    proposal_type = _choice("Type", ProposalType)
    proposed_by = _choice("Proposed by", ProposedBy)
    page = forms.IntegerField(
        min_value=1, max_value=1_000_000, required=False, widget=forms.HiddenInput
    )
    EXACT = ("risk_level", "proposal_type", "proposed_by")
    FACETS = ("risk_level", "proposal_type", "proposed_by")

    def __init__(self, data=None, **kwargs):
        # The queue opens on what waits for a decision; "any status" is an explicit "".
        if data is not None and "status" not in data:
            data = data.copy()
            data["status"] = self.WAITING
        super().__init__(data, **kwargs)

    def filter(self, qs: models.QuerySet, without: str | None = None) -> models.QuerySet:
        status = self.chosen(without).get("status")
        qs = super().filter(qs, without)
        if status == self.WAITING:
            return qs.waiting()
        return qs.filter(status=status) if status else qs


class ChoiceRadios(forms.RadioSelect):
    """Radio buttons some of which can be offered disabled."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.disabled: set[str] = set()

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value in self.disabled:
            option["attrs"]["disabled"] = True
        return option


class DecisionForm(forms.Form):
    """One governed decision; the approver is the signed-in user, never a field.

    Built for the proposal's verdict and the person deciding, it offers what can be
    recorded now: "approved" is disabled while only a rejection can be recorded (or this
    person proposed it), and the type defaults to a missing one this person can still
    satisfy. The store decides.
    """

    approval_type = forms.ChoiceField(choices=ApprovalType.choices)
    decision = forms.ChoiceField(choices=Decision.choices, widget=ChoiceRadios)
    notes = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 3})
    )
    # A double click or a resubmitted form carries the same token: one decision.
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, verdict=None, approver: str = "", own_refusal: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if verdict is None:
            return
        open_types = verdict.types_open_to(approver) or verdict.missing or verdict.required
        if open_types:
            self.fields["approval_type"].initial = open_types[0]
        if verdict.approval_refusal or own_refusal:
            self.fields["decision"].widget.disabled = {Decision.APPROVED}
            self.fields["decision"].initial = Decision.REJECTED

    def clean(self):
        data = super().clean()
        if data.get("decision") == Decision.REJECTED and not has_visible(data.get("notes")):
            self.add_error("notes", f"Say why: a rejection needs notes; {SAYS_NOTHING}.")
        return data


class BreakGlassForm(forms.Form):
    """A break-glass decision: only its reason is asked; who records it is the request's
    user, and what it stands in for is the verdict's missing types. The store decides."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        error_messages={"required": "Say why the rule is bypassed: a reason is required."},
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"]
        if not has_visible(reason):
            raise ValidationError(f"Say why the rule is bypassed; {SAYS_NOTHING}.")
        return reason


class PublishForm(forms.Form):
    """A new profile version: the document, why, and from when."""

    document = forms.CharField(
        label="JSON", widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"})
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        error_messages={"required": "Say why this version is published."},
    )
    effective_from = IsoDateTimeField(
        label="Effective from (empty: now; may be in the future)",
    )
    source_ref = forms.CharField(required=False, max_length=500, label="Source reference")

    def clean_document(self):
        parsed = parse_json_text(self.cleaned_data["document"])
        if not parsed.valid:
            raise ValidationError(f"The document cannot be published: {parsed.problem}.")
        if not isinstance(parsed.value, dict):
            raise ValidationError("The document must be a JSON object ({...}).")
        return parsed.value
