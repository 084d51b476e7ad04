"""Proposing a change from a finding, and a proposal's evidence.

``review/findings/new/?annotation=<id>&annotation=<id>`` is the form, reached from an
annotation (one id) or from a set of them (a queue's results: every id); ``&change=`` and
``&profile=<kind>:<name>`` start the document from the correction or from a profile's
active version. It posts to ``review/findings/``, which proposes the change through the
store as the signed-in reviewer and goes to the new proposal's page; a refusal is said on
the form and writes nothing. ``review/proposals/<id>/evidence/`` lists the annotations a
proposal rests on, with their targets and scores and their place in the decision log: the
proposal page (promotion, which never imports review) loads it as a fragment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from memory_app import writing
from memory_app.access import reader_required
from memory_app.base_models import Level
from memory_app.errors import StoreError
from memory_app.page_parts import HtmxHttpRequest, fragment
from memory_app.profiles.models import BehaviorProfile, PersonalityProfile
from memory_app.promotion.models import AuditLeaf, Proposal
from memory_app.review import findings
from memory_app.review.finding_models import FindingEvidence
from memory_app.review.models import Annotation, TargetKind
from memory_app.runtime.models import Turn
from memory_app.store import RuntimeMemoryStore
from memory_app.timeutil import now_iso

FORM = "memory_app/review/finding_form.html"
EVIDENCE = "memory_app/review/finding_evidence.html"
PROFILES = {"behavior": (BehaviorProfile, "behavior_json"),
            "personality": (PersonalityProfile, "personality_json")}  # fmt: skip
CHANGES = [
    ("config_change", "A config change: the correction"),
    ("profile_change", "A profile change: a new version of a profile"),
]


class ProposeChangeForm(forms.Form):
    change = forms.ChoiceField(label="Kind of change", choices=CHANGES, widget=forms.RadioSelect)
    profile = forms.ChoiceField(label="Profile (for a profile change)", required=False)
    document = forms.CharField(
        label="The change (JSON object)", widget=forms.Textarea(attrs={"rows": 12})
    )
    skill_key = forms.CharField(label="Skill key", max_length=200)
    description = forms.CharField(label="What was found", widget=forms.Textarea(attrs={"rows": 3}))
    risk_level = forms.ChoiceField(label="Risk level", choices=Level.choices, initial="medium")

    def __init__(self, *args, profiles: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["profile"].choices = [("", "—"), *[(p, p) for p in profiles]]

    def clean(self) -> dict:
        data = super().clean()
        try:
            document = json.loads(data.get("document", ""))
        except ValueError as error:
            self.add_error("document", f"Not JSON: {error}.")
            return data
        if data.get("change") == "profile_change":
            if not data.get("profile"):
                self.add_error("profile", "Choose the profile this document is a new version of.")
                return data
            kind, name = data["profile"].split(":", 1)
            document = {"profile_kind": kind, "profile_name": name, "document": document}
        data["proposal"] = document
        return data


def _profile_names() -> list[str]:
    """Every profile as ``<kind>:<name>`` (two queries)."""
    return [
        f"{kind}:{name}"
        for kind, (model, _) in PROFILES.items()
        for name in model.objects.order_by("profile_name")
        .values_list("profile_name", flat=True)
        .distinct()
        if isinstance(name, str)
    ]


@dataclass(frozen=True)
class Evidence:
    """An annotation with what it is about (a turn when it is one) and, on a proposal,
    its link's place in the decision log (None: not taken in yet)."""

    annotation: Annotation
    turn: Turn | None = None
    log_index: int | None = None

    @property
    def annotations(self) -> list[Annotation]:
        return [self.annotation]  # as review's annotation list takes them


def _evidence(annotations: list[Annotation], log: dict[str, int] | None = None) -> list[Evidence]:
    """Each annotation with its turn (one query for every turn)."""
    turn_ids = [a.target_id for a in annotations if a.target_kind == TargetKind.TURN]
    turns = Turn.objects.in_bulk(turn_ids) if turn_ids else {}
    return [Evidence(a, turns.get(a.target_id), (log or {}).get(a.pk)) for a in annotations]


def _starting_document(request: HtmxHttpRequest, annotations: list[Annotation]) -> str:
    """The document the form starts from: the chosen profile's active version, or the
    corrections the evidence gives."""
    kind, _, name = request.GET.get("profile", "").partition(":")
    if request.GET.get("change") == "profile_change" and kind in PROFILES:
        model, column = PROFILES[kind]
        active = model.objects.active_at(name, now_iso())
        if active is not None:
            return getattr(active, column)
    corrections = [
        {"turn_id": a.target_id, "answer": a.correction} for a in annotations if a.correction
    ]
    return json.dumps({"corrections": corrections}, ensure_ascii=False, indent=2)


def _form_page(request: HtmxHttpRequest, ids: list[str], form=None, status=200) -> HttpResponse:
    problem, annotations = "", []
    try:
        evidence = findings.evidence_ids(ids)
        annotations = findings.current_annotations(evidence, Annotation.objects.with_scores())
    except StoreError as error:
        problem, status = str(error), 400 if status == 200 else status
    profiles = _profile_names()
    if form is None:
        change = request.GET.get("change")
        form = ProposeChangeForm(
            profiles=profiles,
            initial={
                "change": change if change in dict(CHANGES) else "config_change",
                "profile": request.GET.get("profile", ""),
                "document": _starting_document(request, annotations),
            },
        )
    context = {"form": form, "ids": ids, "evidence": _evidence(annotations), "problem": problem,
               "profiles": profiles}  # fmt: skip
    return render(request, FORM, context, status=status)


@require_GET
@reader_required
def new_finding(request: HtmxHttpRequest) -> HttpResponse:
    """The form, for the annotations the query string names."""
    return _form_page(request, request.GET.getlist("annotation"))


@require_POST
@reader_required
def propose_change(request: HtmxHttpRequest) -> HttpResponse:
    """Propose the change as the signed-in reviewer; 422 and nothing written when refused."""
    ids = request.POST.getlist("annotation")
    form = ProposeChangeForm(request.POST, profiles=_profile_names())
    if not form.is_valid():
        return _form_page(request, ids, form, status=422)
    data = form.cleaned_data
    try:
        finding = RuntimeMemoryStore().propose_change(
            ids,
            proposed_by=request.user.get_username(),
            proposal_type=data["change"],
            proposal=data["proposal"],
            risk_level=data["risk_level"],
            skill_key=data["skill_key"],
            description=data["description"],
        )
    except StoreError as error:
        form.add_error(None, str(error))
        return _form_page(request, ids, form, status=422)
    return redirect(finding.proposal.get_absolute_url())


@require_GET
@reader_required
def proposal_evidence(request: HtmxHttpRequest, proposal_id: str) -> HttpResponse:
    """The annotations a proposal rests on (four queries however many)."""
    try:
        proposal = writing.get(Proposal, proposal_id)
    except StoreError as error:
        raise Http404(str(error)) from None
    links = list(FindingEvidence.objects.of(proposal.pk))
    by_annotation = {link.annotation_id: link.pk for link in links}
    annotations = Annotation.objects.filter(pk__in=by_annotation).with_scores().in_bulk()
    logged = dict(
        AuditLeaf.objects.filter(kind="finding_evidence", row_id__in=by_annotation.values())
        .values_list("row_id", "index")
    )  # fmt: skip
    log = {a: logged.get(link) for a, link in by_annotation.items()}
    ordered = [
        annotations[link.annotation_id] for link in links if link.annotation_id in annotations
    ]
    context = {"proposal": proposal, "evidence": _evidence(ordered, log)}
    return render(request, fragment(request, EVIDENCE, "evidence"), context)
