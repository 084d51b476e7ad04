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

    Built for the proposal's verdict and the person deciding, it offers what would count:
    the approval types this person's approval would satisfy (``Verdict.would_count``),
    each other required type with why it is not offered, and "approved" disabled while
    only a rejection can be recorded. A rejection counts whatever its type, so with
    nothing to approve the required types stay offered for it. The server checks the
    same: the page asks the store to refuse an approval that would not count.
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
        self.verdict = verdict
        # Said beside the form instead, once: why no approval at all can be recorded.
        self.refused = bool(verdict and (verdict.approval_refusal or own_refusal))
        self.offered: list[str] = []
        # (types, why an approval of them would not count), each reason said once.
        self.not_offered: list[tuple[str, str]] = []
        if verdict is None:
            return
        if not self.refused:
            self.offered = verdict.types_open_to(approver)
            reasons: dict[str, list[str]] = {}
            for kind in verdict.required:
                if kind not in self.offered:
                    reasons.setdefault(verdict.why_not_offered(approver, kind), []).append(kind)
            self.not_offered = [(", ".join(kinds), why) for why, kinds in reasons.items()]
        shown = self.offered or list(verdict.required)
        labels = dict(ApprovalType.choices)
        # The field still takes every type, so a post of another one is answered by the
        # store in the rule's words, not with "select a valid choice".
        self.fields["approval_type"].widget.choices = [(t, labels.get(t, t)) for t in shown]
        self.fields["approval_type"].initial = shown[0]
        if not self.offered:
            self.fields["decision"].widget.disabled = {Decision.APPROVED}
            self.fields["decision"].initial = Decision.REJECTED

    @property
    def nothing_to_approve(self) -> bool:
        """Open to decisions, but no approval by this person would count."""
        return self.verdict is not None and not self.refused and not self.offered

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
