"""The promotion wing's reads: a proposal's lineage (skill → proposal → validations →
decisions → deploys, and break-glass) with what it means, apart from the writers so
that pages and notifications read it without importing them."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from django.db import models

from memory_app import checks, writing
from memory_app.promotion import decision_time, evidence_chain, log_checks, rule
from memory_app.promotion.models import (
    Approval,
    ApprovalEvidence,
    DeployOutcome,
    Override,
    Proposal,
    ProposalChange,
    Skill,
    ValidationResult,
)


@dataclass(frozen=True)
class ProposalLineage:
    """skill → proposal → validations → approvals → deploy outcomes, and what they mean."""

    skill: Skill | None  # None when another writer left the link dangling
    proposal: Proposal
    validations: list[ValidationResult]
    approvals: list[Approval]
    deploy_outcomes: list[DeployOutcome]
    evidence: dict[str, ApprovalEvidence]  # by approval id; other writers' decisions have none
    overrides: list[Override]  # break-glass decisions
    changes: list[ProposalChange]  # risk_level / proposal_json changes the database noticed

    @property
    def rows(self) -> tuple:
        """The arguments ``rule.evaluate`` takes, to replay the rule at any moment."""
        return (
            self.proposal,
            self.validations,
            self.approvals,
            self.deploy_outcomes,
            self.evidence,
            self.overrides,
        )

    @property
    def logged_rows(self) -> int:
        """How many of the proposal's rows the decision log logs (none: nothing to check)."""
        kinds = (self.validations, self.approvals, self.deploy_outcomes, self.overrides)
        return sum(len(rows) for rows in kinds)

    @cached_property
    def verdict(self) -> rule.Verdict:
        return rule.evaluate(*self.rows)

    @cached_property
    def log(self) -> log_checks.ProposalLogStatus:
        """The proposal's rows in the decision log, checked against the latest checkpoint
        (from a few of the log's tiles, however long the log)."""
        return log_checks.proposal_status(
            {
                "validation": [v.pk for v in self.validations],
                "approval": [a.pk for a in self.approvals],
                "deploy": [d.pk for d in self.deploy_outcomes],
                "override": [o.pk for o in self.overrides],
            }
        )

    @cached_property
    def audit(self) -> evidence_chain.AuditReport:
        """The proposal's decision chain, checked from these rows (no further query)."""
        chained = sorted(self.evidence.values(), key=lambda e: e.seq)
        unchained = [a.pk for a in self.approvals if a.pk not in self.evidence]
        return evidence_chain.check(chained, unchained)


def proposal_lineage(proposal_id: str) -> ProposalLineage:
    """skill → proposal → validations → approvals (with evidence) → deploys, and
    break-glass decisions (eight queries: the last reads the decision log's moments).

    Each governed row carries its counted time (``decision_time``) and rows are in
    that order (unreadable times first, then by id: ``timeutil``).
    """
    proposal = writing.get(Proposal, proposal_id)
    validations = list(proposal.validations.all())
    approvals = list(proposal.approvals.select_related("evidence"))
    deploys = list(proposal.deploy_outcomes.all())
    overrides = list(proposal.overrides.all())
    decision_time.attach([*validations, *approvals, *deploys, *overrides])
    skill = Skill.objects.filter(pk=proposal.skill_id).first()
    # The rule reads the skill too (its metadata may name the proposer): read once, even
    # when the link dangles (a join would hide the proposal).
    Proposal.skill.field.set_cached_value(proposal, skill)
    return ProposalLineage(
        skill=skill,
        proposal=proposal,
        validations=decision_time.in_order(validations, "validated_at"),
        approvals=(approvals := decision_time.in_order(approvals, "decided_at")),
        deploy_outcomes=decision_time.in_order(deploys, "deployed_at"),
        evidence={a.pk: ev for a in approvals if (ev := rule.evidence_of(a))},
        overrides=decision_time.in_order(overrides, "decided_at"),
        changes=list(ProposalChange.objects.of(proposal)),
    )


def proposal_status(proposal_id: str) -> rule.Verdict:
    """The proposal's status as the rule derives it from its rows now (the store's
    clock), whatever status another writer stored."""
    return rule.verdict_for(writing.get(Proposal, proposal_id), now=checks.clock())


def with_lineage(proposals: models.QuerySet, chunk_size: int = 500) -> Iterator[Proposal]:
    """The proposals with their skill, validations, approvals (with evidence), deploys
    and break-glass decisions, each row with its counted time (``decision_time``).

    Read in chunks, each with one query per relation. The skill is prefetched, not
    joined, since a join would hide a proposal whose skill another writer removed; a
    proposal stored without an id has no rows to fetch.
    """
    lineage = [
        "skill",
        "validations",
        "deploy_outcomes",
        "overrides",
        models.Prefetch("approvals", queryset=Approval.objects.select_related("evidence")),
    ]
    for chunk in itertools.batched(proposals.iterator(chunk_size), chunk_size):
        models.prefetch_related_objects([p for p in chunk if p.pk is not None], *lineage)
        # The time each row counts at (one more query per chunk): governance reads it.
        decision_time.attach(
            row
            for p in chunk
            if p.pk is not None
            for rows in (p.validations, p.approvals, p.deploy_outcomes, p.overrides)
            for row in rows.all()
        )
        yield from chunk


@dataclass(frozen=True)
class Judged:
    """A proposal, its governed rows (each with its counted time, in no set order) and the
    rule's verdict on them."""

    proposal: Proposal
    validations: list[ValidationResult]
    approvals: list[Approval]
    deploy_outcomes: list[DeployOutcome]
    overrides: list[Override]
    verdict: rule.Verdict


# The tables of a proposal's governed rows, as ``Judged`` names them.
_GOVERNED = {
    "validations": ValidationResult.objects.all(),
    "approvals": Approval.objects.select_related("evidence"),
    "deploy_outcomes": DeployOutcome.objects.all(),
    "overrides": Override.objects.all(),
}


def judged(proposals: models.QuerySet, now: datetime, chunk_size: int = 500) -> Iterator[Judged]:
    """The proposals with the rule's verdict at ``now`` on their rows, for a page that reads
    verdicts only (the overview): the rows ``with_lineage`` reads, in as many queries (one
    per table and chunk, and one for their counted times), grouped here by proposal instead
    of prefetched onto each (building a related queryset per proposal and table cost more
    than reading the rows).

    A chunk's rows are read through one subquery of its proposals' ids, prepared once for
    the five queries (Django prepares each value of an ``IN`` list in Python, each time)."""
    governing = rule.current_rule()  # read from the settings once, not per proposal
    for chunk in itertools.batched(proposals.iterator(chunk_size), chunk_size):
        these = Proposal.objects.filter(pk__in=[p.pk for p in chunk if p.pk is not None])
        skills = Skill.objects.filter(pk__in=these.values("skill_id")).in_bulk()
        rows: dict[str, dict[str, list]] = {name: defaultdict(list) for name in _GOVERNED}
        ids = these.values("pk")
        for name, table in _GOVERNED.items():
            for row in table.filter(proposal__in=ids).order_by():
                rows[name][row.proposal_id].append(row)
        decision_time.attach(r for by in rows.values() for found in by.values() for r in found)
        for proposal in chunk:
            # Read once, even when the link dangles (the rule reads the skill's metadata).
            Proposal.skill.field.set_cached_value(proposal, skills.get(proposal.skill_id))
            mine = {name: rows[name].get(proposal.pk, []) for name in _GOVERNED}
            evidence = {a.pk: ev for a in mine["approvals"] if (ev := rule.evidence_of(a))}
            verdict = rule.evaluate(
                proposal,
                mine["validations"],
                mine["approvals"],
                mine["deploy_outcomes"],
                evidence,
                mine["overrides"],
                now=now,
                rule=governing,
            )
            yield Judged(proposal, **mine, verdict=verdict)
