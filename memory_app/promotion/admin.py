"""The promotion wing's admin: skills, proposals and their governed rows, read-only."""

from django.contrib import admin

from memory_app.admin_parts import (
    AppendOnlyAdmin,
    ReadOnlyInline,
    V1Admin,
    link_to,
)
from memory_app.promotion import rule
from memory_app.promotion.models import (
    Approval,
    DeployOutcome,
    Override,
    Proposal,
    Skill,
    ValidationResult,
)


class ProposalInline(ReadOnlyInline):
    model = Proposal
    fields = ["proposal_type", "risk_level", "status", "created_at"]


@admin.register(Skill)
class SkillAdmin(V1Admin):
    long_text = ("description",)
    list_display = ["skill_key", "source_type", "confidence", "state", "learned_at"]
    list_filter = ["state", "source_type"]
    search_fields = ["skill_key", "description"]
    inlines = [ProposalInline]


class ValidationInline(ReadOnlyInline):
    model = ValidationResult
    fields = ["validated_at", "validator", "build_pass", "lint_pass", "test_pass", "policy_pass"]


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = ["decided_at", "approver", "approval_type", "decision", "notes"]


class DeployInline(ReadOnlyInline):
    model = DeployOutcome
    fields = ["deployed_at", "deployment_target", "status", "summary"]


class OverrideInline(ReadOnlyInline):
    model = Override
    verbose_name = "break-glass decision (bypassed)"
    fields = ["decided_at", "actor", "reason"]
    show_change_link = False


@admin.register(Proposal)
class ProposalAdmin(V1Admin):
    list_display = ["id", "skill_link", "proposal_type", "risk_level", "status", "created_at"]
    list_filter = ["status", "risk_level", "proposal_type", "proposed_by"]
    search_fields = ["=id", "skill__skill_key"]
    raw_id_fields = ["skill"]
    list_prefetch = ("skill",)
    readonly_fields = ["governance_status"]
    inlines = [ValidationInline, ApprovalInline, OverrideInline, DeployInline]

    @admin.display(description="governance (derived from the rows)")
    def governance_status(self, proposal):
        if proposal.pk is None:
            return "—"
        verdict = rule.verdict_for(proposal)
        missing = f"; still missing: {', '.join(verdict.missing)}" if verdict.missing else ""
        if verdict.bypassed:
            bypassed = ", ".join(verdict.bypassed)
            missing = f"; bypassed by {verdict.bypassed_by} (break-glass): {bypassed}"
        return f"{verdict.status}{missing}"

    @admin.display(description="skill")
    def skill_link(self, proposal):
        return link_to(proposal, "skill")

    def view_on_site(self, proposal):
        return proposal.get_absolute_url()


class ProposalRowAdmin(AppendOnlyAdmin):
    list_prefetch = ("proposal",)

    @admin.display(description="proposal")
    def proposal_link(self, row):
        return link_to(row, "proposal")


@admin.register(ValidationResult)
class ValidationResultAdmin(ProposalRowAdmin):
    list_display = ["validated_at", "proposal_link", "validator", "build_pass", "lint_pass",
                    "test_pass", "policy_pass"]  # fmt: skip
    list_filter = ["validator"]


@admin.register(Approval)
class ApprovalAdmin(ProposalRowAdmin):
    """Decisions are recorded only through the governed form on the proposal page."""

    list_display = ["decided_at", "proposal_link", "approver", "approval_type", "decision"]
    list_filter = ["decision", "approval_type"]
    search_fields = ["approver"]


@admin.register(DeployOutcome)
class DeployOutcomeAdmin(ProposalRowAdmin):
    list_display = ["deployed_at", "proposal_link", "deployment_target", "status"]
    list_filter = ["status", "deployment_target"]


# --- profiles: "edit" publishes a new version ---------------------------------------------------
