"""Who can still give what a proposal misses, and what waits for the person signed in.

The rule (``rule.Verdict.would_count``) says whether one person's approval would count;
this module asks it for each person who may decide (``access.deciders``, one query for
every proposal on a page), so the pages never count approvals themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from memory_app import access, timeutil
from memory_app.base_models import Level
from memory_app.promotion import rule
from memory_app.promotion.lineage import with_lineage
from memory_app.promotion.models import Proposal
from memory_app.timeutil import instant_key, parse_iso


@dataclass(frozen=True)
class Missing:
    """Required types no counted approval gives yet, and who can still give them."""

    kinds: tuple[str, ...]  # missing types the same people can give (said once for all)
    givers: tuple[str, ...]  # the people who may decide whose approval of them would count
    nobody: str = ""  # why nobody can ("" when someone can)


def decider_names() -> list[str]:
    """The names of everyone who may record decisions (one query)."""
    field = get_user_model().USERNAME_FIELD
    return sorted(access.deciders().values_list(field, flat=True))


def missing_of(verdict: rule.Verdict, names: list[str]) -> list[Missing]:
    """The types the proposal still misses, with who of ``names`` can give each, the
    types the same people can give together ("human, policy: can be given by ann, bob");
    nothing once the proposal takes no decision (rejected, approved, promoted, refused)."""
    if not verdict.takes_decisions:
        return []
    groups: dict[tuple[str, ...], list[str]] = {}
    for kind in verdict.missing:
        groups.setdefault(tuple(verdict.who_can_give(kind, names)), []).append(kind)
    return [
        Missing(tuple(kinds), givers, "" if givers else _nobody(verdict, names))
        for givers, kinds in groups.items()
    ]


def _nobody(verdict: rule.Verdict, names: list[str]) -> str:
    """Why no one who may decide can give a missing type, in the words of the rule."""
    if verdict.approval_refusal:
        latest = verdict.latest_validation
        if latest is None or not latest.all_passed:
            return "no approval counts until a validation passes all four checks"
        return verdict.approval_refusal
    if not names:
        return "no one has the role that records decisions (ops)"
    why = "proposed this"
    if verdict.distinct_people:
        why += (
            f" or already counts for another type (a {verdict.risk}-risk proposal needs "
            "each type from a different person)"
        )
    return f"everyone who may decide {why}"


@dataclass(frozen=True)
class Waiting:
    """A proposal the signed-in person can move: the types they can give, and the rest."""

    proposal: Proposal
    verdict: rule.Verdict
    mine: tuple[str, ...]  # the missing types this person's approval would count for
    missing: list[Missing]
    waited_hours: float | None


RISK_RANK = {level: n for n, level in enumerate(Level.values)}


def needs(person: str) -> list[Waiting]:
    """The proposals waiting for a type ``person`` can give, riskiest first (by the level
    whose rule applies: the highest of now and of any decision's), then the longest
    waiting (drafted first). A constant number of queries for up to ``with_lineage``'s
    chunk of waiting proposals (500), one more query per chunk after that."""
    names = decider_names()
    found = []
    for proposal in with_lineage(Proposal.objects.waiting()):
        verdict = rule.verdict_for(proposal)
        if mine := verdict.types_open_to(person):
            found.append(
                Waiting(
                    proposal,
                    verdict,
                    tuple(mine),
                    missing_of(verdict, names),
                    waited_hours(proposal),
                )
            )

    def urgency(row: Waiting) -> tuple:
        drafted = instant_key(row.proposal.created_at)
        # An unreadable drafted time cannot be placed by age: after the readable ones.
        return (-RISK_RANK[row.verdict.risk], not drafted, drafted, str(row.proposal.pk))

    return sorted(found, key=urgency)


def waited_hours(proposal: Proposal) -> float | None:
    """How long the proposal has waited since it was drafted (None: unreadable time)."""
    created = parse_iso(proposal.created_at)
    if created is None:
        return None
    return (timeutil.now() - created).total_seconds() / 3600
