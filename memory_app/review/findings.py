"""From a reviewer's finding to a governed change: ``propose_change`` drafts a skill and a
proposal through the promotion wing's writes, linked to the annotations it rests on.

The v1 vocabulary stays as it is (contract/v1_schema.sql): a finding is a ``profile_change``
(the new document of a behavior or personality profile) or a ``config_change`` (the
correction), written as a v1 ``policy_change`` or ``config_change`` proposal proposed by
``human``; the skill's source is ``conversation`` and its ``source_ref`` names the evidence
(``annotations:<id>,<id>``). Who proposed it is kept in the skill's metadata. From there the
proposal is like any other: validations, decisions under the governance rule, deploys.
The evidence links (``FindingEvidence``) are leaves of the decision log; the store's front
door takes them in in the write's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from memory_app import checks
from memory_app.converters import storable
from memory_app.errors import InvalidInput, NotFound
from memory_app.promotion import writes as promotion_writes
from memory_app.promotion.models import Proposal, ProposalType, ProposedBy, Skill, SourceType
from memory_app.review import texts
from memory_app.review.finding_models import FindingEvidence
from memory_app.review.models import Annotation

# A finding's kind -> the v1 proposal_type it is written as (v1 has no "profile change": a
# profile is the agent's behavior policy).
CHANGE_TYPES = {
    "profile_change": ProposalType.POLICY_CHANGE,
    "config_change": ProposalType.CONFIG_CHANGE,
}
PROFILE_KINDS = ("behavior", "personality")
# A person's finding is their word, not a model's estimate of how sure it is.
CONFIDENCE = 1.0
# As many annotations as one proposal can usefully show (and a query string carry).
MAX_EVIDENCE = 100


@dataclass(frozen=True)
class Finding:
    skill: Skill
    proposal: Proposal
    evidence: list[FindingEvidence]


def evidence_ids(annotation_ids: object) -> list[str]:
    """The annotation ids a finding rests on, checked: a non-empty list of distinct ids."""
    if isinstance(annotation_ids, str) or not isinstance(annotation_ids, Sequence):
        raise InvalidInput(
            f"annotation_ids must be a list of annotation ids; got {annotation_ids!r}"
        )
    if not annotation_ids:
        raise InvalidInput("a change needs at least one annotation as its evidence")
    if len(annotation_ids) > MAX_EVIDENCE:
        raise InvalidInput(
            f"a change rests on at most {MAX_EVIDENCE} annotations; got {len(annotation_ids)}"
        )
    ids = [checks.text(i, "an annotation id") for i in annotation_ids]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InvalidInput(f"annotation {repeated[0]!r} is given twice")
    return ids  # type: ignore[return-value]


def proposal_document(change: str, proposal: Any) -> dict:
    """The proposal's JSON object, checked for its kind of change: a profile change names
    the profile (``profile_kind``, ``profile_name``) and carries its new ``document``; a
    config change is the correction, a non-empty object."""
    if change not in CHANGE_TYPES:
        raise InvalidInput(
            f"proposal_type must be one of {', '.join(CHANGE_TYPES)}; got {change!r}"
        )
    document = (
        json.loads(checks.json_object(proposal, "proposal")) if proposal is not None else None
    )
    if not isinstance(document, dict) or not document:
        raise InvalidInput(f"a {change} needs its proposal as a non-empty JSON object")
    if change == "profile_change":
        kind, name = document.get("profile_kind"), document.get("profile_name")
        if kind not in PROFILE_KINDS:
            raise InvalidInput(
                f"a profile change's profile_kind is behavior or personality; got {kind!r}"
            )
        checks.text(name, "a profile change's profile_name")
        if not isinstance(document.get("document"), dict):
            raise InvalidInput(
                "a profile change carries the new profile as a JSON object in 'document'"
            )
    return document


def current_annotations(ids: list[str], rows: QuerySet | None = None) -> list[Annotation]:
    """The annotations (of ``rows``, default all), in the order given; refused when one is
    missing or superseded (a finding rests on what the reviewer says now, not on a version
    they replaced)."""
    rows = Annotation.objects.all() if rows is None else rows
    for pk in ids:
        if not storable(pk):  # PostgreSQL cannot even be asked for it
            raise NotFound(f"no tommemory_annotations row with id {pk!r}")
    found = rows.filter(pk__in=ids).select_related("superseded_by").in_bulk()
    for pk in ids:
        if pk not in found:
            raise NotFound(f"no tommemory_annotations row with id {pk!r}")
    for pk in ids:
        newer = getattr(found[pk], "superseded_by", None)
        if newer is not None:
            raise InvalidInput(
                f"annotation {pk!r} was superseded by {newer.pk!r}: propose from the current one"
            )
    return [found[pk] for pk in ids]


def propose_change(
    annotation_ids: Sequence[str],
    *,
    proposed_by: str,
    proposal_type: str,
    proposal: Any,
    risk_level: str,
    skill_key: str,
    description: str,
    created_at: datetime | str | None = None,
) -> Finding:
    """Draft a skill (source ``conversation``) and a proposal from a reviewer's finding,
    linked to its evidence annotations, in one transaction; refused (nothing written) with
    a clear message for an unknown or superseded annotation, no evidence, a proposal that
    is not the JSON object its kind needs, or any value the promotion writes refuse."""
    ids = evidence_ids(annotation_ids)
    person = texts.person(proposed_by, "proposed_by")
    document = proposal_document(proposal_type, proposal)
    created = checks.when(created_at, "created_at")
    with transaction.atomic():
        annotations = current_annotations(ids)
        skill = promotion_writes.learn_skill(
            skill_key,
            description,
            source_type=SourceType.CONVERSATION,
            confidence=CONFIDENCE,
            source_ref="annotations:" + ",".join(ids),
            metadata={"proposed_by": person, "change": proposal_type, "annotations": ids},
            learned_at=created,
        )
        drafted = promotion_writes.draft_proposal(
            skill.pk,
            proposed_by=ProposedBy.HUMAN,
            proposal_type=CHANGE_TYPES[proposal_type],
            proposal=document,
            risk_level=risk_level,
            created_at=created,
        )
        evidence = [
            FindingEvidence.objects.create(proposal=drafted, annotation=a, created_at=created)
            for a in annotations
        ]
    return Finding(skill, drafted, evidence)
