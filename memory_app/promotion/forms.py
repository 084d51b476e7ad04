"""The promotion wing's forms: the proposal queue's filters, a decision, break-glass."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from memory_app.base_models import Level
from memory_app.forms import (
    ListFilterForm,
    choice_field,
)
from memory_app.promotion.models import (
    ApprovalType,
    Decision,
    ProposalStatus,
    ProposalType,
    ProposedBy,
)
from memory_app.promotion.people import SAYS_NOTHING, has_visible


class ProposalFilterForm(ListFilterForm):
    WAITING = "waiting"
    STATUS_CHOICES = [
        (WAITING, "waiting for a decision"),
        ("", "any status"),
        *ProposalStatus.choices,
    ]

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, initial=WAITING)
    risk_level = choice_field("Risk", Level)
    proposal_type = choice_field("Type", ProposalType)
    proposed_by = choice_field("Proposed by", ProposedBy)
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
