"""The governance rule: statuses, distinct approvers, staleness, refusals, replay, the chain."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from memory_app.models import Approval, ApprovalEvidence, Proposal
from memory_app.promotion import evidence_chain, rule
from memory_app.store import InvalidInput
from memory_app.timeutil import parse_iso
from tests.helpers import decide, drop_trigger, validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_proposal(store):
    """A validated (or not) proposal at a given risk level."""

    def make(risk="high", passed=True, validated=True):
        skill = store.learn_skill(
            f"skill-{risk}-{Proposal.objects.count()}", "d", source_type="doc", confidence=0.7
        )
        proposal = store.draft_proposal(
            skill.id, proposed_by="oxide", proposal_type="code_patch",
            proposal={"diff": "--- a\n+++ b\n"}, risk_level=risk,
        )  # fmt: skip
        if validated:
            validate(store, proposal, passed)
        return proposal

    return make


def status(proposal) -> str:
    return Proposal.objects.get(pk=proposal.pk).status


@pytest.mark.parametrize(
    ("risk", "needed"),
    [
        ("low", ["human"]),
        ("medium", ["human", "policy"]),
        ("high", ["human", "policy", "security"]),
        ("critical", ["human", "policy", "security", "ops"]),
    ],
)
def test_each_risk_level_needs_its_approval_types(store, make_proposal, risk, needed):
    proposal = make_proposal(risk)
    for n, kind in enumerate(needed):
        assert status(proposal) == "validated"
        recorded = decide(store, proposal, f"person-{n}", kind)
        assert recorded.verdict.missing == needed[n + 1 :]
    assert status(proposal) == "approved"


def test_high_risk_needs_a_different_person_per_type(store, make_proposal):
    proposal = make_proposal("high")
    for kind in ["human", "policy", "security"]:
        verdict = decide(store, proposal, "alice", kind).verdict
    assert status(proposal) == "validated"
    assert len(verdict.satisfied) == 1
    assert len(verdict.missing) == 2
    decide(store, proposal, "bob", "policy")
    decide(store, proposal, "carol", "security")
    assert status(proposal) == "approved"


def test_medium_risk_lets_one_person_approve_both_types(store, make_proposal):
    proposal = make_proposal("medium")
    decide(store, proposal, "alice", "human")
    decide(store, proposal, "alice", "policy")
    assert status(proposal) == "approved"


def test_a_counted_rejection_rejects_and_closes_the_proposal(store, make_proposal):
    proposal = make_proposal("medium")
    decide(store, proposal, "alice", "human")
    decide(store, proposal, "bob", "policy", "rejected", notes="unsafe retry loop")
    assert status(proposal) == "rejected"
    before = Approval.objects.count()
    with pytest.raises(InvalidInput, match="accepted only while it is drafted or validated"):
        decide(store, proposal, "carol", "ops")
    assert Approval.objects.count() == before


def test_changing_ones_mind_is_a_new_row_and_the_latest_counts(store, make_proposal):
    proposal = make_proposal("medium")
    decide(store, proposal, "alice", "human")
    verdict = decide(
        store, proposal, "alice", "human", "rejected", notes="on reflection, no"
    ).verdict
    assert Approval.objects.filter(proposal=proposal).count() == 2
    first, second = verdict.decisions
    assert first.superseded
    assert not first.counted
    assert second.counted
    assert status(proposal) == "rejected"


def test_approval_refused_without_a_passing_latest_validation(store, make_proposal):
    failing = make_proposal("low", passed=False)
    with pytest.raises(InvalidInput, match="does not pass all four checks"):
        decide(store, failing, "alice", "human")
    unvalidated = make_proposal("low", validated=False)
    with pytest.raises(InvalidInput, match="no validation yet"):
        decide(store, unvalidated, "alice", "human")
    assert Approval.objects.count() == 0
    assert ApprovalEvidence.objects.count() == 0
    decide(store, failing, "alice", "human", "rejected", notes="tests fail")
    assert status(failing) == "rejected"


def test_rejection_requires_notes(store, make_proposal):
    proposal = make_proposal("low")
    with pytest.raises(InvalidInput, match="needs notes"):
        decide(store, proposal, "alice", "human", "rejected")
    assert Approval.objects.count() == 0


def test_decisions_refused_once_approved_or_promoted(store, make_proposal):
    proposal = make_proposal("low")
    decide(store, proposal, "alice", "human")
    with pytest.raises(InvalidInput, match="is approved"):
        decide(store, proposal, "bob", "ops", "rejected", notes="late")
    store.record_deploy_outcome(proposal.id, deployment_target="prod", status="succeeded")
    assert status(proposal) == "promoted"
    with pytest.raises(InvalidInput, match="is promoted"):
        decide(store, proposal, "bob", "ops")


def test_a_newer_validation_makes_earlier_decisions_stale(store, make_proposal):
    proposal = make_proposal("medium")
    decide(store, proposal, "alice", "human")
    validate(store, proposal)
    verdict = rule.verdict_for(Proposal.objects.get(pk=proposal.pk))
    assert verdict.decisions[0].stale
    assert "newer validation" in verdict.decisions[0].reason
    assert verdict.missing == ["human", "policy"]


def test_a_changed_proposal_json_makes_earlier_decisions_stale(store, make_proposal):
    proposal = make_proposal("low")
    decide(store, proposal, "alice", "human")
    assert status(proposal) == "approved"
    Proposal.objects.filter(pk=proposal.pk).update(proposal_json='{"diff": "changed"}')
    verdict = rule.verdict_for(Proposal.objects.get(pk=proposal.pk))
    assert verdict.decisions[0].stale
    assert "proposal_json changed" in verdict.decisions[0].reason
    assert verdict.status == "validated"


def test_other_writers_decisions_are_judged_by_time(store, make_proposal, clock):
    proposal = make_proposal("low", validated=False)
    # Written before the validation was recorded (the decision log sees both at once, so
    # each keeps its own time: decision_time).
    Approval.objects.create(
        proposal=proposal, approver="early-runtime", approval_type="human",
        decision="rejected", decided_at=clock() - timedelta(days=1),
    )  # fmt: skip
    validate(store, proposal)
    Approval.objects.create(
        proposal=proposal, approver="runtime", approval_type="human", decision="approved",
        decided_at="2999-01-01 00:00:00",
    )  # fmt: skip
    assert rule.verdict_for(proposal).status == "approved"
    verdict = rule.verdict_for(proposal)
    early = next(d for d in verdict.decisions if d.approval.approver == "early-runtime")
    assert early.stale  # given before the validation the proposal has now
    assert verdict.status == "approved"


def test_the_rule_comes_from_settings(store, make_proposal, settings):
    settings.TOM_GOVERNANCE = {
        "required": {"low": ["ops"], "critical": ["ops"]},
        "distinct_people": [],
    }
    proposal = make_proposal("low")
    decide(store, proposal, "alice", "human")
    assert status(proposal) == "validated"
    decide(store, proposal, "alice", "ops")
    assert status(proposal) == "approved"


def test_status_at_any_moment_comes_from_the_rows(store, make_proposal, clock):
    proposal = make_proposal("medium", validated=False)
    today = clock()
    # Each row written when it says (a row the decision log saw later than the time it
    # claims counts from then: decision_time).
    clock.set("2026-11-24T10:00:00Z")
    validate(store, proposal)
    clock.set("2026-11-24T11:00:00Z")
    decide(store, proposal, "alice", "human")
    clock.set("2026-11-24T12:00:00Z")
    decide(store, proposal, "bob", "policy")
    clock.set(today)
    fresh = Proposal.objects.get(pk=proposal.pk)

    def at(moment):
        return rule.verdict_for(fresh, at=parse_iso(moment)).status

    assert at("2026-11-24T09:00:00Z") == "drafted"
    assert at("2026-11-24T10:30:00Z") == "validated"
    assert at("2026-11-24 11:30:00") == "validated"
    assert at("2026-11-24T13:00:00+01:00") == "approved"


# --- the chain --------------------------------------------------------------------------


def test_every_decision_is_chained_and_the_chain_verifies(store, make_proposal):
    proposal = make_proposal("medium")
    decide(store, proposal, "alice", "human")
    decide(store, proposal, "bob", "policy")
    chain = list(ApprovalEvidence.objects.filter(proposal=proposal).order_by("seq"))
    assert [e.seq for e in chain] == [1, 2]
    assert chain[0].prev_hash == evidence_chain.GENESIS
    assert chain[1].prev_hash == chain[0].row_hash
    assert chain[0].validation_id == proposal.validations.get().pk
    report = evidence_chain.verify()
    assert report.intact
    assert report.checked == 2
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "decision chain intact" in out.getvalue()


def tamper(sql: str, params=()):
    """Edit the file behind the triggers' back, as a hostile process could."""
    drop_trigger("approvals_append_only_update")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_an_edit_behind_the_triggers_breaks_the_chain_at_that_row(store, make_proposal):
    proposal = make_proposal("high")
    decide(store, proposal, "alice", "human")
    second = decide(store, proposal, "bob", "policy").approval
    decide(store, proposal, "carol", "security")
    tamper("UPDATE approvals SET approver = 'mallory' WHERE id = %s", [second.pk])
    report = evidence_chain.verify(proposal.pk)
    assert not report.intact
    assert report.breaks[0].approval_id == second.pk
    assert report.breaks[0].seq == 2
    with pytest.raises(CommandError, match=f"decision #2 \\(approval '{second.pk}'\\)"):
        call_command("verify_audit", stdout=StringIO(), stderr=StringIO())


def test_a_removed_decision_breaks_the_chain(store, make_proposal):
    proposal = make_proposal("high")
    decide(store, proposal, "alice", "human")
    middle = decide(store, proposal, "bob", "policy").approval
    decide(store, proposal, "carol", "security")
    drop_trigger("approvals_append_only_delete")
    drop_trigger("tommemory_approval_evidence_append_only_delete")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM approvals WHERE id = %s", [middle.pk])
    report = evidence_chain.verify(proposal.pk)
    assert "decision #2 is missing" in report.breaks[0].problem


def test_evidence_rows_are_append_only_in_the_database(store, make_proposal):
    proposal = make_proposal("low")
    decide(store, proposal, "alice", "human")
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE tommemory_approval_evidence SET row_hash = 'x'")


def test_a_reused_token_records_one_decision(store, make_proposal):
    proposal = make_proposal("medium")
    first = decide(store, proposal, "alice", "human", idempotency_token="tok-1")
    again = decide(store, proposal, "alice", "human", idempotency_token="tok-1")
    assert not first.duplicate
    assert again.duplicate
    assert again.approval.pk == first.approval.pk
    assert Approval.objects.count() == 1
    other = make_proposal("low")
    with pytest.raises(InvalidInput, match="another proposal"):
        decide(store, other, "alice", "human", idempotency_token="tok-1")


def test_the_proposer_s_own_approval_another_writer_recorded_does_not_count(store, make_proposal):
    proposal = make_proposal("low")
    Proposal.objects.filter(pk=proposal.pk).update(proposed_by="ann")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO approvals (id, proposal_id, approver, approval_type, decision, decided_at)"
            " VALUES ('own', %s, 'ann', 'human', 'approved', '2999-01-01T00:00:00.000Z')",
            [proposal.pk],
        )
    verdict = rule.verdict_for(Proposal.objects.get(pk=proposal.pk))
    assert verdict.status == "validated"
    (view,) = verdict.decisions
    assert not view.counted
    assert view.reason == "not counted: ann proposed this and cannot approve it"


def _approve_all(store, proposal, needed, at=None):
    for n, kind in enumerate(needed):
        decide(store, proposal, f"person-{n}", kind, decided_at=at)


def test_critical_approvals_expire_after_fourteen_days(store, make_proposal):
    proposal = make_proposal("critical")
    _approve_all(store, proposal, ["human", "policy", "security", "ops"])
    fresh = Proposal.objects.get(pk=proposal.pk)
    decided = parse_iso(Approval.objects.filter(proposal=proposal).latest("decided_at").decided_at)
    assert rule.verdict_for(fresh, now=decided + timedelta(days=13)).status == "approved"
    later = rule.verdict_for(fresh, now=decided + timedelta(days=15))
    assert later.status == "validated"
    assert later.missing == ["human", "policy", "security", "ops"]
    assert all(v.expired and not v.counted for v in later.decisions)
    assert later.decisions[0].reason == (
        "expired: given 15 days ago; approvals at critical risk count for 14 days"
    )
    assert "have expired since" in later.disagreement  # stored 'approved', not another writer


def test_low_risk_approvals_never_expire(store, make_proposal):
    proposal = make_proposal("low")
    decide(store, proposal, "rita", "human")
    fresh = Proposal.objects.get(pk=proposal.pk)
    years_later = parse_iso("2999-01-01T00:00:00Z")
    verdict = rule.verdict_for(fresh, now=years_later)
    assert verdict.status == "approved"
    assert not verdict.decisions[0].expired


def test_an_expired_approval_is_refused_nothing_and_a_fresh_one_counts(store, make_proposal, clock):
    today = clock()
    clock.set(today - timedelta(days=91))  # validated and approved then
    proposal = make_proposal("medium")
    decide(store, proposal, "rita", "human")
    clock.set(today)
    decide(store, proposal, "pat", "policy")
    verdict = rule.verdict_for(Proposal.objects.get(pk=proposal.pk))
    assert verdict.missing == ["human"]
    decide(store, proposal, "rita", "human")
    assert status(proposal) == "approved"


def test_a_promoted_proposal_s_approvals_are_aged_at_its_deploy(store, make_proposal, clock):
    proposal = make_proposal("critical")
    _approve_all(store, proposal, ["human", "policy", "security", "ops"])
    store.record_deploy_outcome(proposal.id, deployment_target="tom-runtime", status="succeeded")
    fresh = Proposal.objects.get(pk=proposal.pk)
    a_year_later = clock() + timedelta(days=365)
    assert rule.verdict_for(fresh, now=a_year_later).status == "promoted"
    store.record_deploy_outcome(proposal.id, deployment_target="tom-runtime", status="rolled_back")
    fresh = Proposal.objects.get(pk=proposal.pk)
    # Rolled back: a new deploy needs approvals young enough for its risk.
    assert rule.verdict_for(fresh, now=a_year_later).status == "validated"


def test_an_approval_with_an_unreadable_time_expires_where_approvals_expire(store, make_proposal):
    proposal = make_proposal("critical", validated=False)  # no validation to be stale against
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO approvals (id, proposal_id, approver, approval_type, decision, decided_at)"
            " VALUES ('odd', %s, 'ann', 'ops', 'approved', 'last tuesday')",
            [proposal.pk],
        )
    # Rows as read, with no counted time (the decision log places a stored one at the
    # moment it saw it: test_decision_time.py).
    fresh = Proposal.objects.get(pk=proposal.pk)
    (view,) = rule.evaluate(fresh, [], list(fresh.approvals.all()), [], {}).decisions
    assert view.expired
    assert view.age is None
    assert view.reason.startswith("expired: its time is unreadable")


def test_expiry_comes_from_settings(store, make_proposal, settings, clock):
    settings.TOM_GOVERNANCE = {**settings.TOM_GOVERNANCE, "expire_after_days": {"low": 1}}
    today = clock()
    clock.set(today - timedelta(days=2))  # validated and approved then
    proposal = make_proposal("low")
    decide(store, proposal, "rita", "human")
    clock.set(today)
    assert rule.verdict_for(Proposal.objects.get(pk=proposal.pk)).status == "validated"
