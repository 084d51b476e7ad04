"""The promotion wing's writes: skills, proposals and their governed rows (validations,
decisions, break-glass, deploys), each under the governance rule (``rule``).
``RuntimeMemoryStore`` is their front door: it runs a governed write in one transaction
with the decision log's take-in of its rows, and lets the notifications worker know once
it commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from memory_app import checks, writing
from memory_app.base_models import Level
from memory_app.errors import InvalidInput
from memory_app.promotion import evidence_chain, people, rule
from memory_app.promotion.models import (
    Approval,
    ApprovalEvidence,
    ApprovalType,
    Decision,
    DeployOutcome,
    DeployStatus,
    Override,
    Proposal,
    ProposalStatus,
    ProposalType,
    ProposedBy,
    Skill,
    SkillState,
    SourceType,
    ValidationResult,
    Validator,
    proposal_digest,
    text_of,
)
from memory_app.timeutil import now_iso


@dataclass(frozen=True)
class RecordedDecision:
    approval: Approval
    verdict: rule.Verdict
    duplicate: bool  # the form token had been used: no new row was written


@dataclass(frozen=True)
class RecordedOverride:
    override: Override
    verdict: rule.Verdict


def _person(value: object, what: str) -> str:
    """A name that names a person: one with visible characters (``people``)."""
    name = checks.text(value, what)
    if not people.person_key(name):
        raise InvalidInput(f"{what} must name a person; {name!r} has no visible characters")
    return name


def learn_skill(
    skill_key: str,
    description: str,
    *,
    source_type: str,
    confidence: float,
    source_ref: str | None = None,
    metadata: Any = None,
    learned_at: datetime | str | None = None,
    state: str = SkillState.ACTIVE,
    skill_id: str | None = None,
) -> Skill:
    confidence = checks.number(confidence, "confidence")
    if not 0 <= confidence <= 1:
        raise InvalidInput(f"confidence must be between 0 and 1; got {confidence!r}")
    learned = checks.when(learned_at, "learned_at")
    key = checks.text(skill_key, "skill_key")
    if Skill.objects.filter(skill_key=key, learned_at=learned).exists():
        raise InvalidInput(f"skill {key!r} was already learned at {learned}")
    return Skill.objects.create(
        **checks.given_id(skill_id),
        skill_key=key,
        description=checks.text(description, "description"),
        source_type=checks.choice(source_type, SourceType, "source_type"),
        source_ref=checks.text(source_ref, "source_ref", required=False),
        confidence=confidence,
        learned_at=learned,
        state=checks.choice(state, SkillState, "skill state"),
        metadata_json=checks.json_object(metadata, "metadata"),
    )


def draft_proposal(
    skill_id: str,
    *,
    proposed_by: str,
    proposal_type: str,
    proposal: Any,
    risk_level: str,
    determinism_score: float | None = None,
    created_at: datetime | str | None = None,
    proposal_id: str | None = None,
) -> Proposal:
    score = checks.number(determinism_score, "determinism_score", required=False)
    if score is not None and not 0 <= score <= 1:
        raise InvalidInput(f"determinism_score must be between 0 and 1; got {score!r}")
    if proposal is None:
        raise InvalidInput("proposal must be a JSON object; got None")
    created = checks.when(created_at, "created_at")
    values = {
        **checks.given_id(proposal_id),
        "proposed_by": checks.choice(proposed_by, ProposedBy, "proposed_by"),
        "proposal_type": checks.choice(proposal_type, ProposalType, "proposal_type"),
        "proposal_json": checks.json_object(proposal, "proposal"),
        "determinism_score": score,
        "risk_level": checks.choice(risk_level, Level, "risk_level"),
    }
    skill = writing.get(Skill, skill_id)
    return Proposal.objects.create(
        skill=skill,
        status=ProposalStatus.DRAFTED,
        created_at=created,
        updated_at=created,
        **values,
    )


def record_validation(
    proposal_id: str,
    *,
    validator: str,
    build_pass: bool,
    lint_pass: bool,
    test_pass: bool,
    policy_pass: bool,
    details: Any = None,
    validated_at: datetime | str | None = None,
) -> ValidationResult:
    """Append a validation result; the proposal's status follows the governance rule."""
    values = {
        "validator": checks.choice(validator, Validator, "validator"),
        "build_pass": checks.flag(build_pass, "build_pass"),
        "lint_pass": checks.flag(lint_pass, "lint_pass"),
        "test_pass": checks.flag(test_pass, "test_pass"),
        "policy_pass": checks.flag(policy_pass, "policy_pass"),
        "details_json": checks.json_object(details, "details"),
        "validated_at": checks.when(validated_at, "validated_at"),
    }
    with transaction.atomic():
        proposal = writing.get(Proposal, proposal_id, lock=True)
        result = ValidationResult.objects.create(proposal=proposal, **values)
        _sync_status(proposal, result.validated_at)
    return result


def record_approval(
    proposal_id: str,
    *,
    approver: str,
    approval_type: str,
    decision: str,
    notes: str | None = None,
    decided_at: datetime | str | None = None,
    idempotency_token: str | None = None,
    counting_only: bool = False,
) -> RecordedDecision:
    """Append one decision under the governance rule; changing one's mind is a new row.

    Refused (nothing written) when the proposal no longer takes decisions, when an
    approval comes without a passing latest validation, or a rejection without notes.
    With ``counting_only`` (the decision form) an approval the rule would not count is
    refused too; other writers' approvals are recorded and shown as not counted.
    A token already used returns the decision it recorded instead of a second row.
    Runs in one IMMEDIATE transaction, so concurrent deciders are serialised and
    the status each computes includes the other's decision.
    """
    values = {
        "approver": _person(approver, "approver"),
        "approval_type": checks.choice(approval_type, ApprovalType, "approval_type"),
        "decision": checks.choice(decision, Decision, "decision"),
        "notes": checks.text(notes, "notes", required=False),
        "decided_at": checks.when(decided_at, "decided_at"),
    }
    if values["decision"] == Decision.REJECTED and not people.has_visible(notes):
        raise InvalidInput(f"a rejection needs notes saying why; {people.SAYS_NOTHING}")
    token = checks.text(idempotency_token, "idempotency_token", required=False)
    with transaction.atomic():
        proposal = writing.get(Proposal, proposal_id, lock=True)
        if token:
            earlier = ApprovalEvidence.objects.filter(idempotency_token=token).first()
            if earlier is not None:
                if earlier.proposal_id != proposal.pk:
                    raise InvalidInput("this form token belongs to another proposal")
                verdict = rule.verdict_for(proposal, now=checks.clock())
                return RecordedDecision(earlier.approval, verdict, duplicate=True)
        verdict = rule.verdict_for(proposal, now=checks.clock())
        refusal = (
            verdict.approval_refusal or rule.own_proposal_refusal(proposal, values["approver"])
            if values["decision"] == Decision.APPROVED
            else verdict.refusal
        )
        if refusal:
            raise InvalidInput(refusal)
        kind, approver = values["approval_type"], values["approver"]
        approving = values["decision"] == Decision.APPROVED
        # Asked here, under the proposal's lock, so a decision recorded meanwhile is seen.
        if counting_only and approving and not verdict.would_count(approver, kind):
            why = verdict.why_not_offered(approver, kind)
            raise InvalidInput(f"Not recorded: your {kind} approval would not count ({why}).")
        approval = Approval.objects.create(proposal=proposal, **values)
        latest = verdict.latest_validation
        evidence_chain.next_link(
            approval,
            ApprovalEvidence.objects.filter(proposal=proposal).order_by("-seq").first(),
            validation_id=latest.pk if latest else None,
            proposal_sha256=proposal_digest(proposal.proposal_json),
            risk_level=text_of(proposal.risk_level),
            idempotency_token=token,
        ).save()
        verdict = _sync_status(proposal, approval.decided_at)
        return RecordedDecision(approval, verdict, duplicate=False)


def record_override(proposal_id: str, *, actor: str, reason: str) -> RecordedOverride:
    """Append a break-glass decision: it stands in for every missing approval type.

    Refused (nothing written) unless ``TOM_BREAK_GLASS`` is on, without a reason, when
    an approval could not be recorded now (no passing latest validation, a proposal no
    longer open, so nothing is missing), and by the proposal's proposer. Who may ask for one
    (a superuser) is ``access.can_break_glass``.
    """
    if not settings.TOM_BREAK_GLASS:
        raise InvalidInput(
            "Break-glass is off: an administrator enables it with TOM_BREAK_GLASS=1."
        )
    actor = _person(actor, "actor")
    reason = checks.text(reason, "a break-glass reason")
    if not people.has_visible(reason):
        raise InvalidInput(f"a break-glass reason must say why; {people.SAYS_NOTHING}")
    with transaction.atomic():
        proposal = writing.get(Proposal, proposal_id, lock=True)
        verdict = rule.verdict_for(proposal, now=checks.clock())
        refusal = verdict.approval_refusal or rule.own_proposal_refusal(proposal, actor)
        if refusal:
            raise InvalidInput(refusal)
        latest = verdict.latest_validation
        override = Override.objects.create(
            proposal=proposal,
            actor=actor,
            reason=reason,
            decided_at=now_iso(),
            validation_id=latest.pk if latest else None,
            proposal_sha256=proposal_digest(proposal.proposal_json),
            risk_level=text_of(proposal.risk_level),
        )
        verdict = _sync_status(proposal, override.decided_at)
        return RecordedOverride(override, verdict)


def record_deploy_outcome(
    proposal_id: str,
    *,
    deployment_target: str,
    status: str,
    deployment_id: str | None = None,
    summary: str | None = None,
    metrics: Any = None,
    deployed_at: datetime | str | None = None,
) -> DeployOutcome:
    """Append a deploy outcome; a successful deploy of an approved proposal promotes it."""
    values = {
        "deployment_target": checks.text(deployment_target, "deployment_target"),
        "deployment_id": checks.text(deployment_id, "deployment_id", required=False),
        "status": checks.choice(status, DeployStatus, "deploy status"),
        "summary": checks.text(summary, "summary", required=False),
        "metrics_json": checks.json_object(metrics, "metrics"),
        "deployed_at": checks.when(deployed_at, "deployed_at"),
    }
    with transaction.atomic():
        proposal = writing.get(Proposal, proposal_id, lock=True)
        outcome = DeployOutcome.objects.create(proposal=proposal, **values)
        _sync_status(proposal, outcome.deployed_at)
    return outcome


def _sync_status(proposal: Proposal, when: str) -> rule.Verdict:
    """Store the status the governance rule derives from the proposal's rows."""
    verdict = rule.verdict_for(proposal, now=checks.clock())
    if verdict.status != proposal.status:
        proposal.status, proposal.updated_at = verdict.status, when
        proposal.save(update_fields=["status", "updated_at"])
    return verdict
