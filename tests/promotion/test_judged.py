"""``lineage.judged``, the overview's read of verdicts: the rule's own verdict on each
proposal (``rule.verdict_for``), from rows read in a constant number of queries."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from memory_app.models import Approval, DeployOutcome, Proposal
from memory_app.promotion import rule
from memory_app.promotion.lineage import judged
from memory_app.timeutil import parse_iso

pytestmark = pytest.mark.django_db

ANCHOR = "2026-11-24T12:00Z"
DEMO = ["--sessions=12", "--turns=9", "--runs=4", "--skills=30", f"--anchor={ANCHOR}"]


def shown(verdict: rule.Verdict) -> tuple:
    """What a page can show of a verdict (its rows by id)."""
    return (
        verdict.status,
        verdict.risk,
        verdict.required,
        verdict.satisfied,
        verdict.missing,
        [a.pk for a in verdict.rejected_by],
        [(v.approval.pk, v.counted, v.stale, v.superseded, v.expired, v.reason)
         for v in verdict.decisions],
        [(o.override.pk, o.counted, o.reason) for o in verdict.overrides],
        verdict.bypassed,
        verdict.disagreement,
        verdict.refusal,
        verdict.approval_refusal,
        verdict.proposers,
    )  # fmt: skip


def test_each_verdict_is_the_rule_s_own_from_a_constant_number_of_queries(
    django_assert_max_num_queries,
):
    call_command("seed_demo", *DEMO, stdout=StringIO(), stderr=StringIO())
    some = list(Proposal.objects.order_by("pk")[:3])
    # Rows another writer added behind the stores: not logged yet, one dated in the future.
    Approval.objects.create(
        id="raw", proposal=some[0], approver="eve", approval_type="human",
        decision="approved", decided_at="2036-01-01T00:00:00.000Z",
    )  # fmt: skip
    DeployOutcome.objects.create(
        id="raw-deploy", proposal=some[1], deployment_target="prod", status="succeeded",
        deployed_at="last tuesday",
    )  # fmt: skip
    with transaction.atomic():  # rolled back: the suite checks foreign keys at teardown
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":  # checked at a commit that never comes
                cursor.execute("PRAGMA defer_foreign_keys = ON")
            cursor.execute(  # a skill another writer removed
                "UPDATE skill_to_logic_proposals SET skill_id = 'gone' WHERE id = %s", [some[2].pk]
            )
        now = parse_iso(ANCHOR)
        with django_assert_max_num_queries(7):  # per 500: proposals, skills, 4 tables, times
            found = {j.proposal.pk: shown(j.verdict) for j in judged(Proposal.objects.all(), now)}
        expected = {p.pk: shown(rule.verdict_for(p, now=now)) for p in Proposal.objects.all()}
        transaction.set_rollback(True)
    assert len(expected) > 20
    assert found == expected
    assert len({v[0] for v in found.values()}) >= 4  # every kind of status among them
