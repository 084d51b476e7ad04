"""Tamper evidence for decisions: a hash chain per proposal beside ``approvals``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from memory_app.promotion.models import Approval, ApprovalEvidence
from tommemory_verify.bundle import GENESIS


def chain_hash(prev_hash: str, approval: Approval, evidence: ApprovalEvidence) -> str:
    """The hash of one decision: its approvals row, its evidence and the previous hash."""
    content = [
        prev_hash,
        approval.pk,
        approval.proposal_id,
        approval.approver,
        approval.approval_type,
        approval.decision,
        approval.notes,
        approval.decided_at,
        evidence.seq,
        evidence.validation_id,
        evidence.proposal_sha256,
        evidence.idempotency_token,
    ]
    # Decisions recorded before the risk level was evidence hash as they always did.
    if evidence.risk_level is not None:
        content.append(evidence.risk_level)
    encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def next_link(
    approval: Approval,
    previous: ApprovalEvidence | None,
    *,
    validation_id: str | None,
    proposal_sha256: str,
    risk_level: str,
    idempotency_token: str | None = None,
) -> ApprovalEvidence:
    """The evidence row that appends ``approval`` to its proposal's chain after ``previous``."""
    evidence = ApprovalEvidence(
        approval=approval,
        proposal_id=approval.proposal_id,
        seq=previous.seq + 1 if previous else 1,
        validation_id=validation_id,
        proposal_sha256=proposal_sha256,
        risk_level=risk_level,
        idempotency_token=idempotency_token,
        prev_hash=previous.row_hash if previous else GENESIS,
    )
    evidence.row_hash = chain_hash(evidence.prev_hash, approval, evidence)
    return evidence


@dataclass(frozen=True)
class Break:
    proposal_id: str
    approval_id: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return (
            f"proposal {self.proposal_id!r}, decision #{self.seq} "
            f"(approval {self.approval_id!r}): {self.problem}"
        )


@dataclass
class AuditReport:
    checked: int = 0
    breaks: list[Break] = field(default_factory=list)
    unchained: list[str] = field(default_factory=list)  # approvals written by other writers

    @property
    def intact(self) -> bool:
        return not self.breaks


def verify(proposal_id: str | None = None, using: str = "default") -> AuditReport:
    """Recompute every chain (or one proposal's) and report the first break of each."""
    evidence = (
        ApprovalEvidence.objects.using(using)
        .select_related("approval")
        .order_by("proposal_id", "seq")
    )
    approvals = Approval.objects.using(using).filter(evidence__isnull=True)
    if proposal_id is not None:
        evidence = evidence.filter(proposal_id=proposal_id)
        approvals = approvals.filter(proposal_id=proposal_id)
    return check(evidence, unchained=list(approvals.values_list("pk", flat=True)))


def check(evidence: Iterable[ApprovalEvidence], unchained: list[str]) -> AuditReport:
    """Recompute chains from evidence rows given in (proposal, seq) order, with their approvals.

    ``unchained`` names the decisions other writers recorded without evidence.
    """
    report = AuditReport(unchained=unchained)
    broken: set[str] = set()
    previous: dict[str, ApprovalEvidence] = {}
    for row in evidence:
        report.checked += 1
        if row.proposal_id in broken:
            continue
        before = previous.get(row.proposal_id)
        expected_seq = before.seq + 1 if before else 1
        expected_prev = before.row_hash if before else GENESIS
        problem = ""
        if row.seq != expected_seq:
            problem = f"decision #{expected_seq} is missing from the chain"
        elif row.prev_hash != expected_prev:
            problem = "does not follow the previous decision (chain relinked)"
        elif chain_hash(row.prev_hash, row.approval, row) != row.row_hash:
            problem = "its content no longer matches its hash (edited behind the triggers)"
        if problem:
            report.breaks.append(Break(row.proposal_id, row.approval_id, row.seq, problem))
            broken.add(row.proposal_id)
        previous[row.proposal_id] = row
    return report
