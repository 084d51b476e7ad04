"""The proposal queue, one proposal's lineage and replay, and the governed decision form."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import audit, governance
from ..access import reader_required
from ..exports import export_response, wants_export
from ..forms import DecisionForm, IsoDateTimeField, ProposalFilterForm
from ..models import ApprovalEvidence, Proposal
from ..store import ProposalLineage, RuntimeMemoryStore, StoreError
from ..timeutil import parse_iso
from .common import HtmxHttpRequest, cleaned, fragment

PAGE_SIZE = 50
DECIDE_PERMISSION = "memory_app.add_approval"
OLD_AFTER_HOURS = 72


def can_decide(user) -> bool:
    """Ops (and superusers) record decisions."""
    return user.has_perm(DECIDE_PERMISSION)


def _get_proposal_for_user(request: HtmxHttpRequest, proposal_id: str) -> Proposal:
    """The proposal, if the user may record decisions on it: 404 or 403 otherwise."""
    proposal = get_object_or_404(Proposal.objects.select_related("skill"), pk=proposal_id)
    if not can_decide(request.user):
        raise PermissionDenied("Recording decisions needs the ops role.")
    return proposal


@dataclass(frozen=True)
class QueueRow:
    proposal: Proposal
    verdict: governance.Verdict
    waited_hours: float | None

    @property
    def old(self) -> bool:
        return self.waited_hours is not None and self.waited_hours > OLD_AFTER_HOURS


def _waited_hours(proposal: Proposal) -> float | None:
    created = parse_iso(proposal.created_at)
    if created is None:
        return None
    return (datetime.now(UTC) - created).total_seconds() / 3600


QUEUE_COLUMNS = [
    ("id", lambda r: r.proposal.pk),
    ("skill_key", lambda r: r.proposal.skill.skill_key),
    ("proposal_type", lambda r: r.proposal.proposal_type),
    ("proposed_by", lambda r: r.proposal.proposed_by),
    ("risk_level", lambda r: r.proposal.risk_level),
    ("status", lambda r: r.proposal.status),
    ("derived_status", lambda r: r.verdict.status),
    ("missing", lambda r: " ".join(r.verdict.missing)),
    ("created_at", lambda r: r.proposal.created_at),
]


@require_GET
@reader_required
def proposal_list(request: HtmxHttpRequest) -> HttpResponse:
    data = request.GET.copy()
    data.setdefault("status", ProposalFilterForm.WAITING)
    form = ProposalFilterForm(data)
    filters = cleaned(form)
    proposals = Proposal.objects.all()
    status = filters.get("status")
    if status == ProposalFilterForm.WAITING:
        proposals = proposals.waiting()
    elif status:
        proposals = proposals.filter(status=status)
    for field in ("risk_level", "proposal_type", "proposed_by"):
        if field in filters:
            proposals = proposals.filter(**{field: filters[field]})
    proposals = proposals.by_urgency().with_lineage()
    if fmt := wants_export(request):
        rows = (QueueRow(p, governance.verdict_for(p), None) for p in proposals.iterator(500))
        return export_response(fmt, rows, QUEUE_COLUMNS, "proposals")
    page = filters.get("page", 1)
    chunk = list(proposals[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    rows = [QueueRow(p, governance.verdict_for(p), _waited_hours(p)) for p in chunk[:PAGE_SIZE]]
    context = {
        "form": form,
        "rows": rows,
        "page": page,
        "has_more": len(chunk) > PAGE_SIZE,
    }
    return render(request, fragment(request, "memory_app/proposal_list.html", "results"), context)


def _timeline(lineage: ProposalLineage) -> list[tuple[str, str, object]]:
    """Learned, drafted, validated, decided, deployed: every step in time order."""
    entries = [
        ("learned", lineage.skill.learned_at, lineage.skill),
        ("drafted", lineage.proposal.created_at, lineage.proposal),
        *[("validated", v.validated_at, v) for v in lineage.validations],
        *[("decided", a.decided_at, a) for a in lineage.approvals],
        *[("deployed", d.deployed_at, d) for d in lineage.deploy_outcomes],
    ]
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(entries, key=lambda e: parse_iso(e[1]) or floor)


NOT_YET = "not drafted yet"


def _detail_context(request: HtmxHttpRequest, proposal: Proposal, form=None, note="") -> dict:
    """Everything the proposal page shows, from the lineage (a constant number of queries)."""
    lineage = RuntimeMemoryStore().proposal_lineage(proposal.pk)
    evidence = {e.approval_id: e for e in ApprovalEvidence.objects.filter(proposal=proposal)}
    rows = (
        lineage.proposal,
        lineage.validations,
        lineage.approvals,
        lineage.deploy_outcomes,
        evidence,
    )
    drafted = parse_iso(lineage.proposal.created_at)

    def status_at(moment: datetime | None) -> str:
        """The status the append-only rows give at a moment."""
        if moment is not None and drafted is not None and moment < drafted:
            return NOT_YET
        return governance.evaluate(*rows, at=moment).status

    at_text, at_error, status_then = request.GET.get("at", ""), "", None
    try:
        at = IsoDateTimeField().clean(at_text)
    except ValidationError as exc:
        at, at_error = None, " ".join(exc.messages)
    if at:
        status_then = status_at(parse_iso(at))
    return {
        "lineage": lineage,
        "proposal": lineage.proposal,
        "verdict": governance.evaluate(*rows),
        "replay": [
            (kind, when, row, status_at(parse_iso(when))) for kind, when, row in _timeline(lineage)
        ],
        "at": at_text,
        "at_error": at_error,
        "status_at": status_then,
        "audit": audit.verify(proposal.pk),
        "rule": governance.current_rule(),
        "can_decide": can_decide(request.user),
        "form": form or DecisionForm(initial={"token": uuid.uuid4().hex}),
        "note": note,
    }


@require_GET
@reader_required
def proposal_detail(request: HtmxHttpRequest, proposal_id: str) -> HttpResponse:
    proposal = get_object_or_404(Proposal, pk=proposal_id)
    context = _detail_context(request, proposal)
    partial = "replay" if "at" in request.GET else "decisions"
    template_name = fragment(request, "memory_app/proposal_detail.html", partial)
    return render(request, template_name, context)


@require_POST
@reader_required
def record_decision(request: HtmxHttpRequest, proposal_id: str) -> HttpResponse:
    proposal = _get_proposal_for_user(request, proposal_id)
    form = DecisionForm(request.POST)
    note, status = "", 200
    if form.is_valid():
        data = form.cleaned_data
        try:
            recorded = RuntimeMemoryStore().record_approval(
                proposal.pk,
                approver=request.user.get_username(),
                approval_type=data["approval_type"],
                decision=data["decision"],
                notes=data["notes"] or None,
                idempotency_token=data["token"],
            )
        except StoreError as exc:
            form.add_error(None, str(exc))
            status = 409
        else:
            if not request.htmx:
                return redirect(reverse("memory_app:proposal", args=[proposal.pk]))
            note = (
                "This form was already submitted: the decision was recorded once."
                if recorded.duplicate
                else f"Recorded: {recorded.approval.approval_type} {recorded.approval.decision}."
            )
            form = None
    else:
        status = 400
    context = _detail_context(request, proposal, form=form, note=note)
    template_name = fragment(request, "memory_app/proposal_detail.html", "decisions")
    # htmx swaps only 2xx answers: a refused decision is shown in place with 200.
    return render(request, template_name, context, status=200 if request.htmx else status)
