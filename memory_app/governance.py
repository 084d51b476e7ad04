"""The governance rule, in one place: the form, the admin and RuntimeMemoryStore use it.

A proposal's status is derived from its append-only rows alone (validations, approvals,
deploy outcomes), so the status at any past moment can be replayed:

- ``drafted`` until its latest validation passes all four checks, then ``validated``;
- ``rejected`` when a counted decision rejects;
- ``approved`` when every approval type its risk level requires has a counted approval
  (for the levels in ``distinct``, each type from a different person) and none rejects;
- ``promoted`` when, approved, its latest deploy outcome succeeded.

A decision counts when it is the latest of its approver for its type and is not stale:
it was given against the latest validation and the current ``proposal_json``.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from .models import (
    Approval,
    ApprovalEvidence,
    Decision,
    DeployOutcome,
    DeployStatus,
    Level,
    Proposal,
    ProposalStatus,
    ValidationResult,
)
from .timeutil import parse_iso

OPEN_STATUSES = (ProposalStatus.DRAFTED, ProposalStatus.VALIDATED)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Rule:
    required: dict[str, tuple[str, ...]]
    distinct_people: frozenset[str]

    def required_for(self, risk: str) -> tuple[str, ...]:
        """The approval types a risk level needs; an unknown level needs the strictest set."""
        return self.required.get(risk) or self.required[Level.CRITICAL]

    def needs_distinct_people(self, risk: str) -> bool:
        return risk in self.distinct_people or risk not in self.required


def current_rule() -> Rule:
    """The rule from ``settings.TOM_GOVERNANCE``."""
    config = settings.TOM_GOVERNANCE
    return Rule(
        required={k: tuple(v) for k, v in config["required"].items()},
        distinct_people=frozenset(config.get("distinct_people", ())),
    )


def proposal_digest(proposal_json: str) -> str:
    """The sha256 of the proposal text a decision was given against."""
    return hashlib.sha256(proposal_json.encode()).hexdigest()


@dataclass(frozen=True)
class DecisionView:
    """One approvals row and how the rule treats it."""

    approval: Approval
    evidence: ApprovalEvidence | None
    stale: bool
    superseded: bool
    counted: bool
    reason: str = ""


@dataclass(frozen=True)
class Verdict:
    status: str
    risk: str
    required: tuple[str, ...]
    distinct_people: bool
    satisfied: dict[str, str]  # approval type -> approver counted for it
    missing: list[str]
    rejected_by: list[Approval]
    decisions: list[DecisionView]
    latest_validation: ValidationResult | None
    refusal: str = ""  # why no decision can be recorded now ("" when one can)
    approval_refusal: str = ""  # why an approval (not a rejection) cannot be recorded now


def _when(value: object) -> datetime:
    return parse_iso(value) or _EARLIEST


def _upto[T](rows: Iterable[T], attr: str, at: datetime | None) -> list[T]:
    """Rows up to ``at`` in time order (rows with unparseable times sort first)."""
    kept = [r for r in rows if at is None or _when(getattr(r, attr)) <= at]
    return sorted(kept, key=lambda r: (_when(getattr(r, attr)), str(r.pk)))


def _assign(required: tuple[str, ...], approvers: dict[str, list[str]], distinct: bool):
    """The largest set of required types each covered by an approver (distinct if asked)."""
    if not distinct:
        return {t: approvers[t][-1] for t in required if approvers.get(t)}
    best: dict[str, str] = {}
    candidates = [[None, *approvers.get(t, [])] for t in required]
    for choice in itertools.product(*candidates):
        chosen = [c for c in choice if c is not None]
        if len(chosen) != len(set(chosen)):
            continue
        if len(chosen) > len(best):
            best = {t: c for t, c in zip(required, choice, strict=True) if c is not None}
            if len(best) == len(required):
                break
    return best


def evaluate(
    proposal: Proposal,
    validations: Iterable[ValidationResult],
    approvals: Iterable[Approval],
    deploys: Iterable[DeployOutcome],
    evidence: dict[str, ApprovalEvidence],
    *,
    at: datetime | None = None,
    rule: Rule | None = None,
) -> Verdict:
    """Apply the rule to the rows up to ``at`` (default: all of them)."""
    rule = rule or current_rule()
    risk = proposal.risk_level
    required = rule.required_for(risk)
    distinct = rule.needs_distinct_people(risk)
    validations = _upto(validations, "validated_at", at)
    approvals = _upto(approvals, "decided_at", at)
    deploys = _upto(deploys, "deployed_at", at)
    latest = validations[-1] if validations else None
    digest = proposal_digest(proposal.proposal_json or "")

    latest_per_key: dict[tuple[str, str], str] = {}
    for a in approvals:
        latest_per_key[(a.approver, a.approval_type)] = a.pk
    views = []
    for a in approvals:
        ev = evidence.get(a.pk)
        stale, reason = _staleness(a, ev, latest, validations, digest)
        superseded = latest_per_key[(a.approver, a.approval_type)] != a.pk
        if superseded:
            reason = f"superseded by a later {a.approval_type} decision of {a.approver}"
        views.append(DecisionView(a, ev, stale, superseded, not (stale or superseded), reason))

    counted = [v.approval for v in views if v.counted]
    rejected_by = [a for a in counted if a.decision == Decision.REJECTED]
    approvers: dict[str, list[str]] = {}
    for a in counted:
        if a.decision == Decision.APPROVED and a.approval_type in required:
            approvers.setdefault(a.approval_type, []).append(a.approver)
    satisfied = _assign(required, approvers, distinct)
    missing = [t for t in required if t not in satisfied]

    passed = latest is not None and latest.all_passed
    if rejected_by:
        status = ProposalStatus.REJECTED
    elif not missing:
        latest_deploy = deploys[-1] if deploys else None
        promoted = latest_deploy is not None and latest_deploy.status == DeployStatus.SUCCEEDED
        status = ProposalStatus.PROMOTED if promoted else ProposalStatus.APPROVED
    else:
        status = ProposalStatus.VALIDATED if passed else ProposalStatus.DRAFTED

    refusal = ""
    if status not in OPEN_STATUSES:
        refusal = (
            f"The proposal is {status}: decisions are accepted only while it is "
            "drafted or validated."
        )
    approval_refusal = refusal
    if not approval_refusal and not passed:
        approval_refusal = (
            "The latest validation does not pass all four checks (build, lint, test, policy): "
            "only a rejection can be recorded."
            if latest
            else "The proposal has no validation yet: only a rejection can be recorded."
        )
    return Verdict(
        status=status,
        risk=risk,
        required=required,
        distinct_people=distinct,
        satisfied=satisfied,
        missing=missing,
        rejected_by=rejected_by,
        decisions=views,
        latest_validation=latest,
        refusal=refusal,
        approval_refusal=approval_refusal,
    )


def _staleness(approval, evidence, latest, validations, digest) -> tuple[bool, str]:
    """Whether a decision was given against older evidence than the proposal has now."""
    if evidence is not None:
        if latest is not None and evidence.validation_id != latest.pk:
            return True, "stale: a newer validation came after this decision"
        if evidence.proposal_sha256 != digest:
            return True, "stale: proposal_json changed after this decision"
        return False, ""
    # Decisions from other writers carry no evidence row: the validation in effect
    # when they were made is the latest one before them.
    decided = _when(approval.decided_at)
    if latest is not None and _when(latest.validated_at) > decided:
        return True, "stale: a newer validation came after this decision"
    return False, ""


def evidence_of(approval: Approval) -> ApprovalEvidence | None:
    """The evidence row of a decision, or None for one another writer recorded."""
    try:
        return approval.evidence
    except ApprovalEvidence.DoesNotExist:
        return None


def verdict_for(proposal: Proposal, at: datetime | None = None) -> Verdict:
    """Evaluate a proposal from its rows: prefetched ones (``with_lineage``) or three queries."""
    if "approvals" in getattr(proposal, "_prefetched_objects_cache", {}):
        approvals = list(proposal.approvals.all())
    else:
        approvals = list(proposal.approvals.select_related("evidence"))
    evidence = {a.pk: ev for a in approvals if (ev := evidence_of(a)) is not None}
    return evaluate(
        proposal,
        proposal.validations.all(),
        approvals,
        proposal.deploy_outcomes.all(),
        evidence,
        at=at,
    )
