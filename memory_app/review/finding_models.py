"""The link from a governed proposal to the annotations it rests on (issue #23's findings).

A reviewer's finding becomes a skill and a proposal like any other (the promotion wing's
writes); ``FindingEvidence`` says which annotations it was drawn from. Append-only on both
engines (migration 0027), and each row is a leaf of the decision log (kind
``finding_evidence``, contract/decision_log.json): a link changed or removed afterwards is
found by ``verify_audit``.
"""

from __future__ import annotations

from django.db import models

from memory_app.base_models import AppendOnlyModel, AppendOnlyQuerySet
from memory_app.ids import new_id
from memory_app.promotion.models import Proposal
from memory_app.review.models import Annotation


class FindingEvidenceQuerySet(AppendOnlyQuerySet):
    def of(self, proposal_id: str) -> FindingEvidenceQuerySet:
        """A proposal's evidence, in the order it was given."""
        return self.filter(proposal_id=proposal_id).order_by("created_at", "id")


class FindingEvidence(AppendOnlyModel):
    """One annotation a proposal was drawn from. The columns, in this order, are what the
    decision log's leaf covers (tests check the contract against them)."""

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    # The unique (proposal, annotation) index serves a proposal's evidence: no index of its own.
    proposal = models.ForeignKey(
        Proposal, on_delete=models.DB_CASCADE, related_name="finding_evidence", db_index=False
    )
    annotation = models.ForeignKey(
        Annotation, on_delete=models.DB_CASCADE, related_name="finding_evidence"
    )
    created_at = models.TextField()

    objects = FindingEvidenceQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_finding_evidence"
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "annotation"], name="uniq_finding_evidence"
            ),
        ]

    def __str__(self) -> str:
        return f"annotation {self.annotation_id} for proposal {self.proposal_id}"
