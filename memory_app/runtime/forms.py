"""The runtime wing's filter forms: the session and workflow lists."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from memory_app.forms import (
    CursorField,
    IsoDateTimeField,
    ListFilterForm,
    choice_field,
    text_field,
)
from memory_app.runtime.models import (
    NEWEST_FIRST,
    OLDEST_FIRST,
    Channel,
    RunStatus,
    SessionStatus,
    TriggerSource,
    Turn,
)

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
    q = text_field(
        "Search turns", widget=forms.TextInput(attrs={"data-search": "", "type": "search"})
    )
    actor = choice_field("Actor", None)
    channel = choice_field("Channel", Channel)
    status = choice_field("Status", SessionStatus)
    meta_key = text_field("Metadata key")
    meta_value = text_field("Metadata value")
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

    def matching_turns(self, sessions: models.QuerySet, *, below=None, first=None):
        """The turns the search (``q``) finds, newest first, in ``sessions`` (the chosen
        ones) when a filter narrows them: the session list's and a review queue's rule.

        ``first`` reaches into the search indexes only when no filter applies: a filter on
        the sessions has to see every match to keep those in the chosen sessions.
        """
        text = self.chosen()["q"]
        if self.narrows():
            return Turn.objects.search(text, below=below).filter(session__in=sessions)
        return Turn.objects.search(text, below=below, first=first)

    def filter(self, qs: models.QuerySet, without: str | None = None) -> models.QuerySet:
        chosen = self.chosen(without)
        qs = super().filter(qs, without)
        if "meta_key" in chosen:
            qs = qs.with_metadata(chosen["meta_key"], chosen.get("meta_value"))
        return qs


class WorkflowFilterForm(StartedRangeForm):
    workflow_name = choice_field("Workflow", None)
    status = choice_field("Status", RunStatus)
    trigger_source = choice_field("Trigger", TriggerSource)
    initiated_by = text_field("Initiated by")

    field_order = ["workflow_name", "status", "trigger_source", "initiated_by"]
    EXACT = ("workflow_name", "status", "trigger_source")
    FACETS = ("workflow_name", "status", "trigger_source")
    FREE_TEXT = ("initiated_by",)
