"""The governance rule, in one place: the form, the admin and RuntimeMemoryStore use it.

A proposal's status is derived from its append-only rows alone (validations, approvals,
deploy outcomes), so the status at any past moment can be replayed:

- ``drafted`` until its latest validation passes all four checks, then ``validated``;
- ``rejected`` when a counted decision rejects;
- ``approved`` when every approval type its risk level requires has a counted approval
  (for the levels in ``distinct``, each type from a different person) and none rejects;
- ``promoted`` when, approved, its latest deploy outcome succeeded.

A decision counts when it is the latest of its approver for its type and is not stale:
it was given against the latest validation, the current ``proposal_json`` and the current
``risk_level``. An approval also stops counting once it is older than its risk level's
``expire_after_days`` (``expired``); a promoted proposal's approvals are aged at its
deploy, so history does not change when they later would have expired. What is required
follows the highest risk level any recorded decision was given under, so lowering
``risk_level`` behind the form never lowers the bar.

Whoever wrote it, an approval (or a break-glass decision) counts only when, at its time,
the latest validation passed all four checks, and never when it names the proposer or
names nobody. People are compared by ``people.person_key`` (contract/people.json), never
as raw text: "Ann" and "ann\u200b" are one person for the proposer, for four-eyes and for
a person's latest decision of a type.

Every time the rule reads (order, "up to", staleness, expiry, the deploy approvals are
aged at) is a row's counted time (``decision_time``): the time it claims, held between
moments the decision log knows, so no writer moves a decision by the time it writes.

The stored ``status`` column is the rows' verdict as last written; another writer may set
it to anything. A stored status the rows do not explain is reported beside the derived one,
and while a terminal stored status (``rejected``, ``promoted``) disagrees, no decision is
accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings

from memory_app import timeutil
from memory_app.base_models import Level
from memory_app.jsontext import strict_json_object
from memory_app.promotion import decision_time, people
from memory_app.promotion.models import (
    Approval,
    ApprovalEvidence,
    Decision,
    DeployOutcome,
    DeployStatus,
    Override,
    Proposal,
    ProposalStatus,
    ValidationResult,
    proposal_digest,
    text_of,
)
from memory_app.timeutil import format_iso, parse_iso

OPEN_STATUSES = (ProposalStatus.DRAFTED, ProposalStatus.VALIDATED)
TERMINAL_STATUSES = (ProposalStatus.REJECTED, ProposalStatus.PROMOTED)


@dataclass(frozen=True)
class Rule:
    required: dict[str, tuple[str, ...]]
    distinct_people: frozenset[str]
    expire_after: dict[str, timedelta | None]

    def expiry_for(self, risk: str) -> timedelta | None:
        """How long an approval at a risk level counts (None: for ever); an unknown level
        ages as critical does."""
        if risk in self.expire_after:
            return self.expire_after[risk]
        return self.expire_after.get(Level.CRITICAL)

    def required_for(self, risk: str) -> tuple[str, ...]:
        """The approval types a risk level needs; an unknown level needs the strictest set."""
        return self.required.get(risk) or self.required[Level.CRITICAL]

    def needs_distinct_people(self, risk: str) -> bool:
        return risk in self.distinct_people or risk not in self.required

    @staticmethod
    def strictest(levels: Iterable[object]) -> str:
        """The highest of some risk levels; a level outside the scale counts as critical."""
        scale = list(Level.values)
        ranks = [scale.index(lv) if lv in scale else len(scale) - 1 for lv in levels]
        return scale[max(ranks, default=0)]


def current_rule() -> Rule:
    """The rule from ``settings.TOM_GOVERNANCE``."""
    config = settings.TOM_GOVERNANCE
    return Rule(
        required={k: tuple(v) for k, v in config["required"].items()},
        distinct_people=frozenset(config.get("distinct_people", ())),
        expire_after={
            level: None if days is None else timedelta(days=days)
            for level, days in config.get("expire_after_days", {}).items()
        },
    )


@dataclass(frozen=True)
class DecisionView:
    """One approvals row and how the rule treats it."""

    approval: Approval
    evidence: ApprovalEvidence | None
    stale: bool
    superseded: bool
    counted: bool
    reason: str = ""
    expired: bool = False
    age: timedelta | None = None  # how old the decision is now (None: its time is unreadable)


@dataclass(frozen=True)
class OverrideView:
    """One break-glass decision and whether it counts (as a decision would: not stale, not
    expired)."""

    override: Override
    counted: bool
    reason: str = ""
    expired: bool = False
    age: timedelta | None = None


@dataclass(frozen=True)
class Verdict:
    status: str
    risk: str  # the level whose rule applies: the highest of now and of any decision's
    required: tuple[str, ...]
    distinct_people: bool
    satisfied: dict[str, str]  # approval type -> approver counted for it
    missing: list[str]
    rejected_by: list[Approval]
    decisions: list[DecisionView]
    latest_validation: ValidationResult | None
    stored_status: str = ""
    disagreement: str = ""  # why the stored status is not the derived one ("" when it is)
    refusal: str = ""  # why no decision can be recorded now ("" when one can)
    approval_refusal: str = ""  # why an approval (not a rejection) cannot be recorded now
    overrides: tuple[OverrideView, ...] = ()
    bypassed: tuple[str, ...] = ()  # required types a counted break-glass decision stood in for
    bypassed_by: str = ""  # who recorded that break-glass decision
    proposers: tuple[str, ...] = ()  # who proposed it (``proposers``): they approve nothing of it
    # Each required type's counted-so-far approvers (person keys) the matching was given:
    # what ``would_count`` runs the matching again with.
    approvers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def takes_decisions(self) -> bool:
        """Whether the proposal still takes decisions (what is missing still matters)."""
        return self.status in OPEN_STATUSES and not self.refusal

    @property
    def requirements(self) -> list[tuple[str, str | None, bool]]:
        """Each required type with the approver counted for it (None while missing) and
        whether a break-glass decision stands in for it."""
        return [(kind, self.satisfied.get(kind), kind in self.bypassed) for kind in self.required]

    def would_count(self, person: str, kind: str) -> bool:
        """Whether an approval of ``kind`` by ``person``, given now, would count: the
        rule's own matching (``_assign``) run again with it added must cover one more
        required type. So it is the rule's answer, never a second reckoning of it: someone
        counted for one type can still give another where the matching can move their
        first to another person who approved it too."""
        key = people.person_key(person)
        if (
            not key
            or kind not in self.missing
            or self.approval_refusal
            or proposer_named(self.proposers, person) is not None
        ):
            return False
        with_it = {t: list(keys) for t, keys in self.approvers.items()}
        with_it.setdefault(kind, []).append(key)
        return len(_assign(self.required, with_it, self.distinct_people)) > len(self.satisfied)

    def types_open_to(self, person: str) -> list[str]:
        """The missing types an approval by ``person`` would count for now."""
        return [kind for kind in self.missing if self.would_count(person, kind)]

    def who_can_give(self, kind: str, names: Iterable[str]) -> list[str]:
        """Of ``names`` (the people who may decide), those whose approval of ``kind``
        would count now."""
        return [name for name in names if self.would_count(name, kind)]

    def why_not_offered(self, person: str, kind: str) -> str:
        """Why an approval of ``kind`` by ``person`` would not count now ("" when it
        would). The reasons of the whole form (closed, failing checks, the proposer)
        are said once beside it, not per type."""
        if self.would_count(person, kind):
            return ""
        if kind not in self.required:
            return f"{kind} approvals are not required at {self.risk} risk"
        if kind in self.bypassed:
            return f"bypassed by {self.bypassed_by} (break-glass)"
        if (who := self.satisfied.get(kind)) is not None:
            if people.same_person(who, person):
                return "you already gave it, and it counts"
            return f"already approved by {who}"
        if self.distinct_people and (
            mine := [t for t, who in self.satisfied.items() if people.same_person(who, person)]
        ):
            return (
                f"you already gave {mine[0]} on this proposal; a {self.risk}-risk proposal "
                "needs each type from a different person"
            )
        return self.approval_refusal or "an approval of it by you would not count now"


def _upto[T](rows: Iterable[T], attr: str, at: datetime | None) -> list[T]:
    """Rows up to ``at`` in the order of their counted time (``decision_time``; an
    unreadable time is in no "up to": ``timeutil``)."""
    ordered = decision_time.in_order(rows, attr)
    if at is None:
        return ordered
    bound = format_iso(at)
    return [r for r in ordered if "" < counted_time(r, attr) <= bound]


def _assign(required: tuple[str, ...], approvers: dict[str, list[str]], distinct: bool):
    """The largest set of required types each covered by an approver (distinct if asked);
    ``approvers`` holds each type's approvers as person keys.

    With distinct people this is a maximum bipartite matching of types to people, found
    by augmenting paths: at most four types, so it stays cheap however many decisions
    there are. The latest approver of a type is tried first.
    """
    if not distinct:
        return {t: approvers[t][-1] for t in required if approvers.get(t)}
    holder: dict[str, str] = {}  # person -> the type they are counted for

    def augment(kind: str, seen: set[str]) -> bool:
        for person in reversed(dict.fromkeys(approvers.get(kind, []))):
            if person in seen:
                continue
            seen.add(person)
            if person not in holder or augment(holder[person], seen):
                holder[person] = kind
                return True
        return False

    for kind in required:
        augment(kind, set())
    chosen = {kind: person for person, kind in holder.items()}
    return {t: chosen[t] for t in required if t in chosen}


def evaluate(
    proposal: Proposal,
    validations: Iterable[ValidationResult],
    approvals: Iterable[Approval],
    deploys: Iterable[DeployOutcome],
    evidence: dict[str, ApprovalEvidence],
    overrides: Iterable[Override] = (),
    *,
    at: datetime | None = None,
    now: datetime | None = None,
    rule: Rule | None = None,
) -> Verdict:
    """Apply the rule to the rows up to ``at`` (default: all of them) as of ``at`` (default
    ``now``, default the clock).

    Long on purpose: this is the one home of the governance rule, its steps in the order
    contract/governance.json states them and runtime-store-ts/src/rule.ts mirrors, so the
    two stores can be read side by side; the pieces that stand alone are helpers below."""
    rule = rule or current_rule()
    validations = _upto(validations, "validated_at", at)
    approvals = _upto(approvals, "decided_at", at)
    deploys = _upto(deploys, "deployed_at", at)
    overrides = _upto(overrides, "decided_at", at)
    risk = rule.strictest(
        [proposal.risk_level]
        + [ev.risk_level for a in approvals if (ev := evidence.get(a.pk)) and ev.risk_level]
        + [o.risk_level for o in overrides if o.risk_level]
    )
    required = rule.required_for(risk)
    distinct = rule.needs_distinct_people(risk)
    latest = validations[-1] if validations else None
    digest = proposal_digest(proposal.proposal_json)
    aged_at = _aged_at(deploys, at or now or timeutil.now())
    lifetime = rule.expiry_for(risk)
    proposed_by = proposers(proposal)  # the skill's metadata parsed once, not per row

    latest_per_key: dict[tuple[str, str], Approval] = {}
    for a in approvals:
        latest_per_key[(people.person_key(a.approver), a.approval_type)] = a
    views = []
    for a in approvals:
        ev = evidence.get(a.pk)
        stale, reason = _staleness(a, ev, latest, digest, proposal.risk_level)
        later = latest_per_key[(people.person_key(a.approver), a.approval_type)]
        superseded = later.pk != a.pk
        if superseded:
            reason = (
                f"superseded by a later {a.approval_type} decision of "
                f"{_as_named(later.approver, a.approver)}"
            )
        approving = a.decision == Decision.APPROVED
        # Another writer may have recorded the proposer's own approval, or one with no
        # visible name, or one after failing checks: none counts.
        unfit = approving and _unfit_approver(proposed_by, a.approver)
        if unfit and not (stale or superseded):
            reason = unfit
        age, expired = _age(counted_time(a, "decided_at"), aged_at, lifetime)
        expired = expired and approving
        if expired and not (stale or superseded or unfit):
            reason = _expiry_reason(age, lifetime, risk)
        unchecked = approving and _unchecked(a, validations)
        if unchecked and not (stale or superseded or unfit or expired):
            reason = unchecked
        counted = not (stale or superseded or unfit or expired or unchecked)
        views.append(DecisionView(a, ev, stale, superseded, counted, reason, expired, age))

    valid = [v.approval for v in views if v.counted]
    rejected_by = [a for a in valid if a.decision == Decision.REJECTED]
    approvers: dict[str, list[str]] = {}
    named: dict[tuple[str, str], str] = {}  # (type, person key) -> the name it was given as
    for a in valid:
        if a.decision == Decision.APPROVED and a.approval_type in required:
            key = people.person_key(a.approver)
            approvers.setdefault(a.approval_type, []).append(key)
            named[(a.approval_type, key)] = text_of(a.approver)
    assigned = _assign(required, approvers, distinct)
    satisfied = {kind: named[(kind, key)] for kind, key in assigned.items()}
    missing = [t for t in required if t not in satisfied]
    views = [_why_not_counted(v, required, satisfied, distinct, risk) for v in views]
    override_views = []
    for o in overrides:
        stale, reason = _staleness(o, o, latest, digest, proposal.risk_level)
        unfit = _unfit_approver(proposed_by, o.actor)
        if unfit and not stale:
            reason = unfit
        age, expired = _age(counted_time(o, "decided_at"), aged_at, lifetime)
        if expired and not (stale or unfit):
            reason = _expiry_reason(age, lifetime, risk)
        unchecked = _unchecked(o, validations)
        if unchecked and not (stale or unfit or expired):
            reason = unchecked
        counted = not (stale or unfit or expired or unchecked)
        override_views.append(OverrideView(o, counted, reason, expired, age))
    bypassing = [v.override for v in override_views if v.counted]
    bypassed, bypassed_by = (), ""
    if bypassing and missing:
        bypassed, bypassed_by, missing = tuple(missing), text_of(bypassing[-1].actor), []

    passed = latest is not None and latest.all_passed
    if rejected_by:
        status = ProposalStatus.REJECTED
    elif not missing:
        latest_deploy = deploys[-1] if deploys else None
        promoted = latest_deploy is not None and latest_deploy.status == DeployStatus.SUCCEEDED
        status = ProposalStatus.PROMOTED if promoted else ProposalStatus.APPROVED
    else:
        status = ProposalStatus.VALIDATED if passed else ProposalStatus.DRAFTED

    stored = text_of(proposal.status)
    disagreement = ""
    if at is None and stored != status:
        expired = any(v.expired for v in views)
        disagreement = _disagreement(stored, status, expired)
    refusal = ""
    if status not in OPEN_STATUSES:
        refusal = (
            f"The proposal is {status}: decisions are accepted only while it is "
            "drafted or validated."
        )
    elif disagreement and stored in TERMINAL_STATUSES:
        refusal = (
            f"Decisions are refused while the stored status {stored!r} disagrees with the "
            f"rows ({status!r}): correct it, or record the rows that explain it."
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
        stored_status=stored,
        disagreement=disagreement,
        refusal=refusal,
        approval_refusal=approval_refusal,
        overrides=tuple(override_views),
        bypassed=bypassed,
        bypassed_by=bypassed_by,
        proposers=proposed_by,
        approvers={kind: tuple(keys) for kind, keys in approvers.items()},
    )


def _aged_at(deploys: list[DeployOutcome], moment: datetime) -> datetime:
    """The moment approvals are aged at: a promoted proposal's deploy, else ``moment``."""
    latest = deploys[-1] if deploys else None
    if latest is not None and latest.status == DeployStatus.SUCCEEDED:
        deployed = parse_iso(counted_time(latest, "deployed_at"))
        if deployed is not None and deployed < moment:
            return deployed
    return moment


def _age(decided_at: object, moment: datetime, lifetime: timedelta | None):
    """A decision's age at ``moment`` and whether it is past its lifetime (one whose time
    is unreadable is, while decisions expire at all)."""
    decided = parse_iso(decided_at)
    age = None if decided is None else moment - decided
    if lifetime is None:
        return age, False
    return age, age is None or age > lifetime


def _expiry_reason(age: timedelta | None, lifetime: timedelta, risk: str) -> str:
    limit = f"approvals at {risk} risk count for {duration_text(lifetime)}"
    if age is None:
        return f"expired: its time is unreadable, so its age is unknown ({limit})"
    return f"expired: given {duration_text(age)} ago; {limit}"


def duration_text(span: timedelta) -> str:
    """A span in its largest whole unit: "15 days", "1 hour", "3 minutes"."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"


def proposers(proposal) -> tuple[str, ...]:
    """Who proposed ``proposal``: its ``proposed_by``, and the person its skill's metadata
    names as ``proposed_by`` (a reviewer's finding: the v1 column can only say ``human``).
    Naming more proposers only narrows who may approve, so no writer gains by it. The
    metadata is read as JSON.parse reads it (no NaN or Infinity), as the TypeScript store
    reads it."""
    named = [text_of(proposal.proposed_by)]
    skill = proposal.skill_or_none
    metadata = strict_json_object(skill.metadata_json) if skill is not None else {}
    if isinstance(person := metadata.get("proposed_by"), str):
        named.append(person)
    return tuple(dict.fromkeys(named))


def own_proposal_refusal(proposal, approver: str) -> str:
    """Why ``approver`` may not approve this proposal, or "": nobody approves what they
    proposed (one of its ``proposers``, compared as people are); they may still reject
    it."""
    proposer = proposer_named(proposers(proposal), approver)
    if proposer is None:
        return ""
    return (
        f"{_as_named(approver, proposer)} proposed this and cannot approve their own "
        "proposal: another person approves it (a rejection can still be recorded)."
    )


def proposer_named(named: tuple[str, ...], who: object) -> str | None:
    """The one of ``named`` (``proposers``) that ``who`` is, compared as people are, or
    None."""
    return next((p for p in named if people.same_person(p, who)), None)


def _as_named(name: object, other: object) -> str:
    """``name``, saying it is the same person as ``other`` when it is written otherwise."""
    name, other = text_of(name), text_of(other)
    return name if name == other else f"{name!r} (the same person as {other!r})"


def counted_time(row, column: str) -> str:
    """The instant the rule places a governed row at, as ``instant_key`` text ("" when
    unreadable): the one home of which time of a row the rule reads, its counted time
    (``decision_time``: the claimed time held to what the decision log saw)."""
    return decision_time.time_of(row, column)


def _unfit_approver(named: tuple[str, ...], who: object) -> str:
    """Why an approval (or a break-glass decision) by ``who`` cannot count, whoever wrote
    it, or "": the name names nobody, or names a proposer (``named``: ``proposers``)."""
    who = text_of(who)
    if not people.person_key(who):
        return f"not counted: {who!r} has no visible characters, so it names no person"
    if (proposer := proposer_named(named, who)) is not None:
        return f"not counted: {_as_named(who, proposer)} proposed this and cannot approve it"
    return ""


def _unchecked(decision, validations) -> str:
    """Why an approval (or a break-glass decision) cannot count, whoever wrote it, because
    of the checks, or "": at its time the latest validation (of ``validations``, in time
    order) did not pass all four, or there was none."""
    given = counted_time(decision, "decided_at")
    before = [v for v in validations if "" < counted_time(v, "validated_at") <= given]
    if not before:
        return "not counted: the proposal had no validation when this was given"
    if not before[-1].all_passed:
        return (
            "not counted: when this was given, the latest validation did not pass all four "
            "checks (build, lint, test, policy)"
        )
    return ""


def _disagreement(stored: str, derived: str, expired: bool) -> str:
    """Say how a stored status differs from what the rows give."""
    if stored == ProposalStatus.APPROVED and expired:
        return (
            f"The stored status is 'approved', but the rows now give {derived!r}: approvals "
            "it counted have expired since, so the missing types need fresh approvals."
        )
    explanation = {
        ProposalStatus.REJECTED: "no counted decision rejects it",
        ProposalStatus.PROMOTED: "no successful deploy of an approved proposal is recorded",
        ProposalStatus.APPROVED: "the counted approvals do not meet the rule",
        ProposalStatus.VALIDATED: "the latest validation does not pass all four checks",
    }.get(stored, "it is not a status of the v1 contract")
    return (
        f"Another writer stored the status {stored!r}, but the rows give {derived!r}: "
        f"{explanation}."
    )


def _staleness(approval, evidence, latest, digest, risk) -> tuple[bool, str]:
    """Whether a decision was given against other evidence than the proposal has now
    (``evidence``: its evidence row, or a break-glass decision, which carries its own)."""
    if evidence is not None:
        if latest is not None and evidence.validation_id != latest.pk:
            return True, "stale: a newer validation came after this decision"
        if evidence.proposal_sha256 != digest:
            return True, "stale: proposal_json changed after this decision"
        if evidence.risk_level is not None and evidence.risk_level != text_of(risk):
            return True, (
                f"stale: risk_level changed from {evidence.risk_level} to {risk} "
                "after this decision"
            )
        return False, ""
    # Decisions from other writers carry no evidence row: the validation in effect
    # when they were made is the latest one before them.
    decided = counted_time(approval, "decided_at")
    if latest is not None and counted_time(latest, "validated_at") > decided:
        return True, "stale: a newer validation came after this decision"
    return False, ""


def _why_not_counted(view: DecisionView, required, satisfied, distinct, risk) -> DecisionView:
    """A valid approval the rule cannot use: another type than required, or a person twice."""
    a = view.approval
    if not view.counted or a.decision != Decision.APPROVED:
        return view
    if a.approval_type not in required:
        reason = f"not counted: a {a.approval_type} approval is not required at {risk} risk"
        return replace(view, counted=False, reason=reason)
    counted_as = satisfied.get(a.approval_type)
    if distinct and not people.same_person(counted_as, a.approver):
        others = [(t, who) for t, who in satisfied.items() if people.same_person(who, a.approver)]
        if others:
            kind, who = others[0]
            reason = (
                f"not counted: {_as_named(a.approver, who)} already counts as the {kind} "
                f"approval, and at {risk} risk each required type needs a different person"
            )
            return replace(view, counted=False, reason=reason)
    return view


def evidence_of(approval: Approval) -> ApprovalEvidence | None:
    """The evidence row of a decision, or None for one another writer recorded."""
    try:
        return approval.evidence
    except ApprovalEvidence.DoesNotExist:
        return None


def verdict_for(
    proposal: Proposal, at: datetime | None = None, now: datetime | None = None
) -> Verdict:
    """Evaluate a proposal from its rows: prefetched ones (``with_lineage``, which gives
    them their counted times) or five queries."""
    if proposal.pk is None:  # stored without an id by another writer: no row can name it
        return evaluate(proposal, [], [], [], {}, at=at, now=now)
    prefetched = "approvals" in getattr(proposal, "_prefetched_objects_cache", {})
    approvals = list(
        proposal.approvals.all() if prefetched else proposal.approvals.select_related("evidence")
    )
    validations, deploys, overrides = (
        list(rows.all())
        for rows in (proposal.validations, proposal.deploy_outcomes, proposal.overrides)
    )
    if not prefetched:
        decision_time.attach([*validations, *approvals, *deploys, *overrides])
    evidence = {a.pk: ev for a in approvals if (ev := evidence_of(a)) is not None}
    return evaluate(proposal, validations, approvals, deploys, evidence, overrides, at=at, now=now)
