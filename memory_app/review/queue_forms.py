"""The review queues' forms: a new queue, and items to add, from a filtered list or one by
one.

Items from a list are the rows the list page shows for the same address: its own filter
form (the one its URL gives, the review wing's score filter on the session list) reads the
query and selects the rows, so "these sessions", "the turns this search finds" and "these
workflow runs" are exactly what the reviewer saw.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.urls import Resolver404, resolve

from memory_app.review.models import ScoreConfig, TargetKind
from memory_app.review.queue_models import DEFAULT_RESERVATION_SECONDS
from memory_app.review.queues import MAX_ITEMS_PER_ADD, MAX_REVIEWERS_PER_ITEM, RESERVATION_RANGE
from memory_app.runtime.forms import SessionFilterForm, WorkflowFilterForm
from memory_app.runtime.models import Session, WorkflowRun

ADDRESS_LIMIT = 4000


class QueueForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )
    score_configs = forms.ModelMultipleChoiceField(
        queryset=ScoreConfig.objects.offered(),
        to_field_name="name",
        widget=forms.CheckboxSelectMultiple,
        help_text="Each reviewer gives every score the queue asks for.",
    )
    reviewers_per_item = forms.IntegerField(
        label="Reviewers per item", min_value=1, max_value=MAX_REVIEWERS_PER_ITEM, initial=1
    )
    reservation_minutes = forms.IntegerField(
        label="Reservation (minutes)",
        min_value=RESERVATION_RANGE[0] // 60,
        max_value=RESERVATION_RANGE[1] // 60,
        initial=DEFAULT_RESERVATION_SECONDS // 60,
        help_text="How long an item a reviewer takes stays theirs.",
    )


class AddOneForm(forms.Form):
    target_kind = forms.ChoiceField(label="Kind", choices=TargetKind.choices)
    target_id = forms.CharField(label="Id", max_length=200)

    def targets(self) -> list[tuple[str, str]]:
        return [(self.cleaned_data["target_kind"], self.cleaned_data["target_id"])]


class AddFromListForm(forms.Form):
    list_address = forms.CharField(
        label="Address of a filtered list",
        max_length=ADDRESS_LIMIT,
        help_text=(
            "Copy it from the address bar: the session list (the sessions, or the turns a "
            "search finds) or the workflow runs, with its filters."
        ),
    )

    def clean_list_address(self) -> list[tuple[str, str]]:
        """The (target_kind, target_id) of every row the list at the address shows (at most
        one more than an addition takes, so a larger list is refused, not cut)."""
        parts = urlsplit(self.cleaned_data["list_address"].strip())
        try:
            match = resolve(parts.path or "/")
        except Resolver404:
            match = None
        query = QueryDict(parts.query)
        if match is not None and match.view_name == "memory_app:sessions":
            return _session_rows(match.kwargs.get("form_class", SessionFilterForm), query)
        if match is not None and match.view_name == "memory_app:workflows":
            form = WorkflowFilterForm(query, rows=WorkflowRun.objects.all())
            _valid(form)
            runs = form.filter(WorkflowRun.objects.all()).values_list("pk", flat=True)
            return [(TargetKind.WORKFLOW_RUN, pk) for pk in runs[: MAX_ITEMS_PER_ADD + 1]]
        raise ValidationError(
            "This is not the address of the session list or the workflow runs; "
            "open the list, filter it, and copy its address."
        )

    def targets(self) -> list[tuple[str, str]]:
        return self.cleaned_data["list_address"]


def _valid(form: forms.Form) -> None:
    """A list page ignores a filter it cannot read; an addition is refused instead, saying
    which (adding more rows than the reader meant would be worse)."""
    if not form.is_valid():
        said = [f"{form[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()]
        raise ValidationError("The list's filter has errors. " + " ".join(said))


def _session_rows(form_class: type[SessionFilterForm], query: QueryDict) -> list:
    form = form_class(query, rows=Session.objects.all())
    _valid(form)
    filters = form.chosen()
    sessions = form.filter(Session.objects.all())
    if "q" in filters:
        turns = form.matching_turns(sessions, first=MAX_ITEMS_PER_ADD + 1)
        ids = turns.values_list("pk", flat=True)[: MAX_ITEMS_PER_ADD + 1]
        return [(TargetKind.TURN, pk) for pk in ids]
    ids = sessions.values_list("pk", flat=True)[: MAX_ITEMS_PER_ADD + 1]
    return [(TargetKind.SESSION, pk) for pk in ids]
