"""The promotion wing's tables: skills, proposals and their governed rows (v1), and ours
beside v1 (approval evidence, break-glass overrides, the decision log, proposal changes)."""

from __future__ import annotations

import hashlib

from django.db import models

from memory_app.base_models import (
    AppendOnlyError,
    AppendOnlyModel,
    AppendOnlyQuerySet,
    JSONColumnsMixin,
    Level,
    PageMixin,
)
from memory_app.expressions import (
    canonical_time_index,
    other_times_index,
    other_times_prefix_index,
)
from memory_app.fields import (
    IntegerColumn,
    JSONTextField,
    RealColumn,
    TextColumn,
    TextIdField,
    TimestampField,
)
from memory_app.ids import new_id


class SourceType(models.TextChoices):
    CONVERSATION = "conversation"
    DOC = "doc"
    EXTERNAL = "external"


class SkillState(models.TextChoices):
    ACTIVE = "active"
    PROMOTED = "promoted"
    RETIRED = "retired"


class ProposedBy(models.TextChoices):
    OXIDE = "oxide"
    HUMAN = "human"


class ProposalType(models.TextChoices):
    CODE_PATCH = "code_patch"
    CONFIG_CHANGE = "config_change"
    POLICY_CHANGE = "policy_change"


class ProposalStatus(models.TextChoices):
    DRAFTED = "drafted"
    VALIDATED = "validated"
    REJECTED = "rejected"
    APPROVED = "approved"
    PROMOTED = "promoted"


class Validator(models.TextChoices):
    CI = "ci"
    OXIDE = "oxide"
    HUMAN = "human"


class ApprovalType(models.TextChoices):
    POLICY = "policy"
    HUMAN = "human"
    SECURITY = "security"
    OPS = "ops"


class Decision(models.TextChoices):
    APPROVED = "approved"
    REJECTED = "rejected"


class DeployStatus(models.TextChoices):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


# --- skills and profiles -------------------------------------------------------------------


class Skill(JSONColumnsMixin, models.Model):
    id = TextIdField()
    skill_key = TextColumn()
    description = TextColumn()
    source_type = TextColumn(choices=SourceType)
    source_ref = TextColumn(null=True, blank=True)
    confidence = RealColumn()
    learned_at = TimestampField()
    state = TextColumn(db_default="active", choices=SkillState)
    metadata_json = JSONTextField(db_default="{}")

    class Meta:
        db_table = "skills_learned"
        constraints = [
            models.UniqueConstraint(fields=["skill_key", "learned_at"], name="uniq_skill_learned"),
        ]
        indexes = [models.Index(fields=["skill_key", "state"], name="idx_skills_key_state")]

    def __str__(self) -> str:
        return self.skill_key


# --- skill-to-logic promotion --------------------------------------------------------------


class ProposalQuerySet(models.QuerySet):
    def waiting(self):
        """Proposals that still take decisions."""
        return self.filter(status__in=[ProposalStatus.DRAFTED, ProposalStatus.VALIDATED])

    def by_urgency(self):
        """Critical risk first, then the longest waiting."""
        rank = models.Case(
            *[models.When(risk_level=level, then=n) for n, level in enumerate(reversed(Level))],
            default=len(Level),
        )
        return self.alias(risk_rank=rank).order_by("risk_rank", "created_at", "id")


class Proposal(PageMixin, JSONColumnsMixin, models.Model):
    PAGE = "memory_app:proposal"

    id = TextIdField()
    skill = models.ForeignKey(
        Skill, on_delete=models.DB_CASCADE, related_name="proposals", db_index=False
    )
    proposed_by = TextColumn(choices=ProposedBy)
    proposal_type = TextColumn(choices=ProposalType)
    proposal_json = JSONTextField()
    determinism_score = RealColumn(null=True, blank=True)
    risk_level = TextColumn(choices=Level)
    status = TextColumn(choices=ProposalStatus)
    created_at = TimestampField()
    updated_at = TimestampField()

    objects = ProposalQuerySet.as_manager()

    class Meta:
        db_table = "skill_to_logic_proposals"
        indexes = [
            models.Index(fields=["status", "risk_level"], name="idx_proposals_status_risk"),
            # Not in v1: a skill's proposals, and the cascade when a skill goes.
            models.Index(fields=["skill"], name="idx_proposals_skill"),
            # Not in v1: the overview's proposals opened over time.
            canonical_time_index("created_at", "idx_proposals_canonical"),
            other_times_prefix_index("created_at", "idx_proposals_other_times"),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_type} proposal {self.id}"

    @property
    def skill_or_none(self) -> Skill | None:
        """The proposal's skill, or None when another writer left the link dangling."""
        try:
            return self.skill
        except Skill.DoesNotExist:
            return None

    def delete(self, *args, **kwargs):
        if self.approvals.exists():
            raise AppendOnlyError(f"proposal {self.pk!r} has approvals and cannot be deleted")
        return super().delete(*args, **kwargs)


def text_of(value: object) -> str:
    """A column value as text (another writer may store a number or nothing)."""
    return "" if value is None else str(value)


def proposal_digest(proposal_json: object) -> str:
    """The sha256 of the proposal text a decision was given against."""
    return hashlib.sha256(text_of(proposal_json).encode()).hexdigest()


def check_passed(value: object) -> bool:
    """A check passed when it is 1; any other value another writer stored is not a pass."""
    return not isinstance(value, str) and value == 1


class ValidationResult(JSONColumnsMixin, AppendOnlyModel):
    id = TextIdField()
    proposal = models.ForeignKey(
        Proposal, on_delete=models.DB_CASCADE, related_name="validations", db_index=False
    )
    validator = TextColumn(choices=Validator)
    build_pass = IntegerColumn(db_default=0)
    lint_pass = IntegerColumn(db_default=0)
    test_pass = IntegerColumn(db_default=0)
    policy_pass = IntegerColumn(db_default=0)
    details_json = JSONTextField(db_default="{}")
    validated_at = TimestampField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "validation_results"
        # Not in v1: proposal_lineage reads these by proposal in time order.
        indexes = [
            models.Index(fields=["proposal", "validated_at"], name="idx_validations_proposal")
        ]

    def __str__(self) -> str:
        return f"{self.validator} validation {self.id}"

    CHECKS = ("build", "lint", "test", "policy")

    @property
    def checks(self) -> list[tuple[str, bool]]:
        """Each of the four checks by name, and whether it passed (pages name each one)."""
        return [(name, check_passed(getattr(self, f"{name}_pass"))) for name in self.CHECKS]

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, passed in self.checks if not passed]

    @property
    def all_passed(self) -> bool:
        return not self.failed_checks


class Approval(AppendOnlyModel):
    id = TextIdField()
    proposal = models.ForeignKey(
        Proposal, on_delete=models.DB_CASCADE, related_name="approvals", db_index=False
    )
    approver = TextColumn()
    approval_type = TextColumn(choices=ApprovalType)
    decision = TextColumn(choices=Decision)
    notes = TextColumn(null=True, blank=True)
    decided_at = TimestampField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "approvals"
        # Not in v1: proposal_lineage reads these by proposal in time order.
        indexes = [
            models.Index(fields=["proposal", "decided_at"], name="idx_approvals_proposal"),
            # Not in v1: the activity timeline, newest first.
            models.Index(fields=["decided_at"], name="idx_approvals_decided"),
            other_times_index("decided_at", "idx_approvals_other_times"),
        ]

    def __str__(self) -> str:
        return f"{self.approval_type} {self.decision} by {self.approver}"


class DeployOutcome(JSONColumnsMixin, AppendOnlyModel):
    id = TextIdField()
    proposal = models.ForeignKey(
        Proposal, on_delete=models.DB_CASCADE, related_name="deploy_outcomes", db_index=False
    )
    deployment_target = TextColumn()
    deployment_id = TextColumn(null=True, blank=True)
    status = TextColumn(choices=DeployStatus)
    summary = TextColumn(null=True, blank=True)
    metrics_json = JSONTextField(db_default="{}")
    deployed_at = TimestampField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "deploy_outcomes"
        # Not in v1: proposal_lineage reads these by proposal in time order.
        indexes = [
            models.Index(fields=["proposal", "deployed_at"], name="idx_deploys_proposal"),
            # Not in v1: the activity timeline, newest first.
            models.Index(fields=["deployed_at"], name="idx_deploys_deployed"),
            other_times_index("deployed_at", "idx_deploys_other_times"),
        ]

    def __str__(self) -> str:
        return f"{self.status} to {self.deployment_target}"


# --- tables of ours beside v1 --------------------------------------------------------------


class ApprovalEvidence(AppendOnlyModel):
    """What a decision was given against, and its link in the proposal's hash chain.

    Kept beside ``approvals`` so the v1 columns stay as they are. ``row_hash`` covers
    the approvals row, this evidence and ``prev_hash`` (the previous decision's hash on
    the same proposal), so editing the file behind the triggers' back breaks the chain.
    """

    approval = models.OneToOneField(
        Approval,
        on_delete=models.DB_CASCADE,
        primary_key=True,
        related_name="evidence",
        db_column="approval_id",
    )
    proposal = models.ForeignKey(
        Proposal, on_delete=models.DB_CASCADE, related_name="+", db_index=False
    )
    seq = models.IntegerField(help_text="position in the proposal's chain, from 1")
    # NULL, not "": no validation existed, or no token was sent (tokens are unique).
    validation_id = models.TextField(null=True, blank=True)  # noqa: DJ001
    proposal_sha256 = models.TextField()
    # NULL on decisions recorded before the risk level was kept as evidence.
    risk_level = models.TextField(null=True, blank=True)  # noqa: DJ001
    idempotency_token = models.TextField(null=True, blank=True, unique=True)
    prev_hash = models.TextField()
    row_hash = models.TextField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_approval_evidence"
        constraints = [
            models.UniqueConstraint(fields=["proposal", "seq"], name="uniq_evidence_chain_seq"),
        ]

    def __str__(self) -> str:
        return f"evidence #{self.seq} of {self.proposal_id}"


class Override(AppendOnlyModel):
    """A break-glass decision: a superuser let a proposal through the governance rule.

    Kept in its own table, not ``approvals``, so no v1 reader takes it for an ordinary
    approval; ``rule`` counts it (shown as "bypassed") when it was given against the
    latest validation, the current ``proposal_json`` and risk level, and has not expired.
    """

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    proposal = models.ForeignKey(Proposal, on_delete=models.DB_CASCADE, related_name="overrides")
    actor = models.TextField()
    reason = models.TextField()
    decided_at = models.TextField()
    validation_id = models.TextField(null=True, blank=True)  # noqa: DJ001
    proposal_sha256 = models.TextField()
    risk_level = models.TextField(null=True, blank=True)  # noqa: DJ001

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_overrides"

    def __str__(self) -> str:
        return f"bypassed by {self.actor}"


class AuditLeaf(AppendOnlyModel):
    """One entry of the append-only decision log: a Merkle tree leaf (``decision_log``).

    Every decision (its approvals row with its evidence), validation, deploy outcome and
    published profile version gets one, in the order the log took them in. ``leaf_hash``
    is the RFC 6962 leaf hash of the row's canonical text; signed checkpoints kept away
    from the database (``audit_checkpoint``) make any later rewrite of rows or leaves
    visible (``verify_audit --checkpoint``).
    """

    index = models.BigIntegerField(primary_key=True, help_text="position in the log, from 0")
    kind = models.TextField()
    row_id = models.TextField()
    leaf_hash = models.TextField()
    logged_at = models.TextField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_audit_log"
        constraints = [
            models.UniqueConstraint(fields=["kind", "row_id"], name="uniq_audit_log_row"),
        ]
        # Not in v1: the overview's decisions counted in a window were recorded since it
        # began (a counted time is never later than its entry's ``logged_at``).
        indexes = [models.Index(fields=["kind", "logged_at"], name="idx_audit_log_logged")]

    def __str__(self) -> str:
        return f"log entry #{self.index}: {self.kind} {self.row_id}"


class LogTile(models.Model):
    """One C2SP tlog-tiles tile of the decision log's Merkle tree (``log_tiles``): up to
    256 consecutive hashes of one tree level, as hex. Level 0 holds the leaf hashes; level
    ``L`` the hashes of the full tiles of the level below. The tiles at the right edge are
    partial and grow as entries are appended, in the transaction that appends them; a
    trigger (migration 0032) refuses any change but growth. A tile is derived data: the
    log's entries are what it is checked and rebuilt from, and a signed checkpoint is what
    proves it.
    """

    pk = models.CompositePrimaryKey("level", "index")
    level = models.IntegerField(help_text="tile level: 0 holds leaf hashes")
    index = models.BigIntegerField(help_text="the tile's place in its level, from 0")
    hashes = models.TextField(help_text="its hashes, in order, as hex (64 digits each)")

    class Meta:
        db_table = "tommemory_log_tiles"

    def __str__(self) -> str:
        return f"log tile {self.level}/{self.index} ({len(self.hashes) // 64} hashes)"


class ProposalChangeQuerySet(AppendOnlyQuerySet):
    def of(self, proposal: Proposal | str):
        return self.filter(proposal_id=getattr(proposal, "pk", proposal)).order_by("id")


class ProposalChange(AppendOnlyModel):
    """A change of a proposal's ``risk_level`` or ``proposal_json``, noticed by the database.

    A trigger (migration 0010) writes one row whenever any process changes either column,
    with the time SQLite noticed it, so the page can say what changed and when, even
    though v1 keeps no history of a proposal. No foreign key: a proposal deleted later
    keeps its change history.
    """

    proposal_id = models.TextField()
    column = models.TextField()
    old_value = models.TextField(null=True)  # noqa: DJ001
    new_value = models.TextField(null=True)  # noqa: DJ001
    noticed_at = models.TextField()

    objects = ProposalChangeQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_proposal_changes"
        indexes = [models.Index(fields=["proposal_id", "id"], name="idx_proposal_changes")]

    def __str__(self) -> str:
        return f"{self.column} of {self.proposal_id} changed at {self.noticed_at}"

    @property
    def summary(self) -> str:
        """What changed: the values of a short column, the digests of the document."""
        if self.column != "proposal_json":
            return f"changed from {self.old_value!r} to {self.new_value!r}"
        old, new = proposal_digest(self.old_value), proposal_digest(self.new_value)
        return f"changed (sha256 {old[:12]}… → {new[:12]}…)"
