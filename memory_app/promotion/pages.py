"""The proposal queue, one proposal's lineage and replay, and the governed decision form."""

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from memory_app import access
from memory_app.access import reader_required
from memory_app.errors import StoreError
from memory_app.exports import export_response, wants_export
from memory_app.forms import IsoDateTimeField
from memory_app.page_parts import HtmxHttpRequest, fragment
from memory_app.promotion import needs, rule
from memory_app.promotion.forms import BreakGlassForm, DecisionForm, ProposalFilterForm
from memory_app.promotion.lineage import ProposalLineage, with_lineage
from memory_app.promotion.models import Proposal
from memory_app.store import RuntimeMemoryStore
from memory_app.timeutil import instant_key, parse_iso

PAGE_SIZE = 50
OLD_AFTER_HOURS = 72


def _get_lineage_for_user(request: HtmxHttpRequest, proposal_id: str) -> ProposalLineage:
    """The proposal's lineage, if the user may record decisions on it: 404 or 403 otherwise."""
    lineage = _lineage_or_404(proposal_id)
    if not access.can_decide(request.user):
        raise PermissionDenied("Recording decisions needs the ops role.")
    return lineage


def _get_lineage_for_override(request: HtmxHttpRequest, proposal_id: str) -> ProposalLineage:
    """The proposal's lineage, if the user may break glass on it: 404 or 403 otherwise."""
    lineage = _lineage_or_404(proposal_id)
    if not access.can_break_glass(request.user):
        raise PermissionDenied("Break-glass is for superusers, and only while it is enabled.")
    return lineage


@dataclass(frozen=True)
class QueueRow:
    proposal: Proposal
    verdict: rule.Verdict
    waited_hours: float | None
    missing: list[needs.Missing] = field(default_factory=list)  # with who can give each

    @property
    def old(self) -> bool:
        """Waiting for a decision for long (a decided proposal waits no more)."""
        waiting = self.verdict.takes_decisions and self.waited_hours is not None
        return waiting and self.waited_hours > OLD_AFTER_HOURS


QUEUE_COLUMNS = [
    ("id", lambda r: r.proposal.pk),
    ("skill_key", lambda r: r.proposal.skill_or_none and r.proposal.skill_or_none.skill_key),
    ("proposal_type", lambda r: r.proposal.proposal_type),
    ("proposed_by", lambda r: r.proposal.proposed_by),
    ("risk_level", lambda r: r.proposal.risk_level),
    ("status", lambda r: r.proposal.status),
    ("derived_status", lambda r: r.verdict.status),
    ("bypassed_by", lambda r: r.verdict.bypassed_by),
    ("bypassed", lambda r: " ".join(r.verdict.bypassed)),
    ("missing", lambda r: " ".join(r.verdict.missing)),
    ("created_at", lambda r: r.proposal.created_at),
]


def _queue_row(proposal: Proposal, names: list[str]) -> QueueRow:
    verdict = rule.verdict_for(proposal)
    missing = needs.missing_of(verdict, names)
    return QueueRow(proposal, verdict, needs.waited_hours(proposal), missing)


@require_GET
@reader_required
def proposal_list(request: HtmxHttpRequest) -> HttpResponse:
    form = ProposalFilterForm(request.GET, rows=Proposal.objects.all())
    if not request.htmx:  # a fragment leaves the filter form (and its counts) as they are
        form.count_facets()
    proposals = form.filter(Proposal.objects.all()).by_urgency()
    if fmt := wants_export(request):
        rows = (QueueRow(p, rule.verdict_for(p), None) for p in with_lineage(proposals))
        return export_response(fmt, rows, QUEUE_COLUMNS, "proposals")
    page = form.chosen().get("page", 1)
    chunk = list(with_lineage(proposals[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1]))
    names = needs.decider_names()
    rows = [_queue_row(p, names) for p in chunk[:PAGE_SIZE]]
    context = {
        "form": form,
        "rows": rows,
        "page": page,
        "has_more": len(chunk) > PAGE_SIZE,
    }
    return render(
        request, fragment(request, "memory_app/promotion/proposal_list.html", "results"), context
    )


@require_GET
@reader_required
def needs_me(request: HtmxHttpRequest) -> HttpResponse:
    """The proposals waiting for an approval the signed-in person can give."""
    if not access.can_decide(request.user):
        raise PermissionDenied("Only people who record decisions (ops) have proposals waiting.")
    context = {"rows": needs.needs(request.user.get_username())}
    return render(request, "memory_app/promotion/needs_me.html", context)


def _timeline(lineage: ProposalLineage) -> list[tuple[str, str, object]]:
    """Learned, drafted, validated, decided, deployed: every step in time order, a governed
    row at the time it counts at (``decision_time``)."""
    at = rule.counted_time
    entries = [
        *([("learned", lineage.skill.learned_at, lineage.skill)] if lineage.skill else []),
        ("drafted", lineage.proposal.created_at, lineage.proposal),
        *[("validated", at(v, "validated_at"), v) for v in lineage.validations],
        *[("decided", at(a, "decided_at"), a) for a in lineage.approvals],
        *[("deployed", at(d, "deployed_at"), d) for d in lineage.deploy_outcomes],
        *[("bypassed", at(o, "decided_at"), o) for o in lineage.overrides],
    ]
    return sorted(entries, key=lambda e: instant_key(e[1]))


NOT_YET = "not drafted yet"
UNKNOWN_TIME = "unknown: the time is unreadable"


def _lineage_or_404(proposal_id: str) -> ProposalLineage:
    try:
        return RuntimeMemoryStore().proposal_lineage(proposal_id)
    except StoreError as exc:
        raise Http404(str(exc)) from None


def _detail_context(
    request: HtmxHttpRequest, lineage: ProposalLineage, form=None, note="", override_form=None
) -> dict:
    """Everything the proposal page shows, from the lineage (a constant number of queries)."""
    drafted = instant_key(lineage.proposal.created_at)

    def status_at(when: str) -> str:
        """The status the append-only rows give at an instant (canonical text)."""
        if not when:
            return UNKNOWN_TIME
        if drafted and when < drafted:
            return NOT_YET
        return rule.evaluate(*lineage.rows, at=parse_iso(when)).status

    # Said where the person deciding looks: the form.
    own_refusal = rule.own_proposal_refusal(lineage.proposal, request.user.get_username())
    at_text, at_error, status_then = request.GET.get("at", ""), "", None
    try:
        at = IsoDateTimeField().clean(at_text)
    except ValidationError as exc:
        at, at_error = None, " ".join(exc.messages)
    if at:
        status_then = status_at(at)
    missing_of = needs.missing_of(lineage.verdict, needs.decider_names())
    missing = {kind: m for m in missing_of for kind in m.kinds}
    return {
        "lineage": lineage,
        "proposal": lineage.proposal,
        "verdict": lineage.verdict,
        # Each required type: who counts for it, whether break-glass stands in for it, and
        # while missing who can still give it.
        "requirements": [
            (kind, who, bypassed, missing.get(kind))
            for kind, who, bypassed in lineage.verdict.requirements
        ],
        "own_refusal": own_refusal,
        # The status after each step replays the rule once per step: asked for, not up front
        # (a proposal with 50 decisions would evaluate it 50 times on every page load).
        "replay": [
            (kind, when, row, status_at(instant_key(when)))
            for kind, when, row in _timeline(lineage)
        ]
        if {"replay", "at"} & request.GET.keys()
        else None,
        "at": at_text,
        "at_error": at_error,
        "status_at": status_then,
        "audit": lineage.audit,
        "log": lineage.log,
        "can_decide": access.can_decide(request.user),
        "can_break_glass": access.can_break_glass(request.user),
        "override_form": override_form or BreakGlassForm(),
        "form": form
        or DecisionForm(
            initial={"token": uuid.uuid4().hex},
            verdict=lineage.verdict,
            approver=request.user.get_username(),
            own_refusal=own_refusal,
        ),
        "note": note,
    }


@require_GET
@reader_required
def proposal_detail(request: HtmxHttpRequest, proposal_id: str) -> HttpResponse:
    context = _detail_context(request, _lineage_or_404(proposal_id))
    partial = "replay" if {"at", "replay"} & request.GET.keys() else "proposal"
    template_name = fragment(request, "memory_app/promotion/proposal_detail.html", partial)
    return render(request, template_name, context)


@require_POST
@reader_required
def record_decision(request: HtmxHttpRequest, proposal_id: str) -> HttpResponse:
    lineage = _get_lineage_for_user(request, proposal_id)
    approver = request.user.get_username()
    own_refusal = rule.own_proposal_refusal(lineage.proposal, approver)
    form = DecisionForm(
        request.POST, verdict=lineage.verdict, approver=approver, own_refusal=own_refusal
    )
    note, status = "", 200
    if form.is_valid():
        data = form.cleaned_data
        try:
            recorded = RuntimeMemoryStore().record_approval(
                lineage.proposal.pk,
                approver=approver,
                approval_type=data["approval_type"],
                decision=data["decision"],
                notes=data["notes"] or None,
                idempotency_token=data["token"],
                counting_only=True,
            )
        except StoreError as exc:
            shown = (lineage.verdict.refusal, lineage.verdict.approval_refusal, own_refusal)
            _refused(form, exc, shown)
            status = 422
        else:
            if not request.htmx:
                return redirect(reverse("memory_app:proposal", args=[lineage.proposal.pk]))
            note = (
                "This form was already submitted: the decision was recorded once."
                if recorded.duplicate
                else f"Recorded: {recorded.approval.approval_type} {recorded.approval.decision}."
            )
            form = None
    else:
        status = 422
    return _answer(request, lineage, status, form=form, note=note)


@require_POST
@reader_required
def record_override(request: HtmxHttpRequest, proposal_id: str) -> HttpResponse:
    lineage = _get_lineage_for_override(request, proposal_id)
    form = BreakGlassForm(request.POST)
    note, status = "", 200
    if form.is_valid():
        try:
            RuntimeMemoryStore().record_override(
                lineage.proposal.pk,
                actor=request.user.get_username(),
                reason=form.cleaned_data["reason"],
            )
        except StoreError as exc:
            shown = (
                lineage.verdict.approval_refusal,
                rule.own_proposal_refusal(lineage.proposal, request.user.get_username()),
            )
            _refused(form, exc, shown)
            status = 422
        else:
            if not request.htmx:
                return redirect(reverse("memory_app:proposal", args=[lineage.proposal.pk]))
            note, form = "Recorded: the rule is bypassed (break-glass).", None
    else:
        status = 422
    return _answer(request, lineage, status, note=note, override_form=form)


def _refused(form, error: StoreError, shown: tuple[str, ...]) -> None:
    """A refusal is the form's error, unless the page already states it beside the form."""
    if str(error) not in shown:
        form.add_error(None, str(error))


def _answer(
    request: HtmxHttpRequest, lineage: ProposalLineage, status: int, **shown
) -> HttpResponse:
    """The whole proposal view after a decision: status, rule line, decisions, badges."""
    context = _detail_context(request, _lineage_or_404(lineage.proposal.pk), **shown)
    template_name = fragment(request, "memory_app/promotion/proposal_detail.html", "proposal")
    # htmx swaps only 2xx answers: a refused decision is shown in place with 200.
    return render(request, template_name, context, status=200 if request.htmx else status)
