"""People in the governance rule, the decision form and break-glass: names are compared by
their person key (contract/people.json), and a decision that does not count because two
names are one person says so on the page. (Both stores: contract/scenarios/same_person*.json.)
"""

import html

import pytest
from django.urls import reverse

from memory_app.models import Approval, Override, Proposal
from memory_app.promotion import rule
from memory_app.store import InvalidInput
from memory_app.timeutil import format_iso

pytestmark = pytest.mark.django_db


def validate(store, proposal, passed=True):
    store.record_validation(
        proposal.id, validator="ci", build_pass=1, lint_pass=1, test_pass=int(passed),
        policy_pass=1,
    )  # fmt: skip


def approve(store, proposal, who, kind):
    return store.record_approval(
        proposal.id, approver=who, approval_type=kind, decision="approved"
    ).verdict


def page(client, proposal) -> str:
    response = client.get(reverse("memory_app:proposal", args=[proposal.pk]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_page_says_a_decision_did_not_count_because_its_names_are_one_person(
    reviewer_client, store, proposal
):
    validate(store, proposal)
    approve(store, proposal, "Ann", "human")
    verdict = approve(store, proposal, "ann\u200b", "policy")
    assert verdict.missing == ["policy", "security"]
    assert verdict.types_open_to("ANN") == []
    assert verdict.types_open_to("bob") == ["policy", "security"]
    shown = page(reviewer_client, proposal)
    assert "human: approved by <strong>Ann</strong>" in shown
    assert (
        "not counted: 'ann\\u200b' (the same person as 'Ann') already counts as the human "
        "approval, and at high risk each required type needs a different person"
    ) in shown


def test_the_proposer_under_another_spelling_is_told_at_the_form_and_refused(
    client, ops, store, proposal
):
    validate(store, proposal)
    # Another writer names the proposer as its own system spells people.
    Proposal.objects.filter(pk=proposal.pk).update(proposed_by="OSCAR-OPS\u00a0")
    client.force_login(ops)
    shown = page(client, proposal)
    assert (
        "'oscar-ops' (the same person as 'OSCAR-OPS\\xa0') proposed this and cannot approve "
        "their own proposal"
    ) in shown
    refused = client.post(
        reverse("memory_app:record_decision", args=[proposal.pk]),
        {"approval_type": "human", "decision": "approved", "notes": "", "token": "t-1"},
    )
    assert "cannot approve their own proposal" in html.unescape(refused.content.decode())
    assert not Approval.objects.exists()


def test_another_writer_s_approval_by_the_proposer_under_another_spelling_does_not_count(
    store, proposal
):
    validate(store, proposal)
    Approval.objects.create(
        proposal=proposal, approver=" Oxide\u200b", approval_type="human",
        decision="approved", decided_at="2999-01-01T00:00:00.000Z",
    )  # fmt: skip
    (view,) = rule.verdict_for(Proposal.objects.get(pk=proposal.pk)).decisions
    assert not view.counted
    assert view.reason == (
        "not counted: ' Oxide\\u200b' (the same person as 'oxide') proposed this and cannot "
        "approve it"
    )


def test_break_glass_compares_people_and_needs_a_person(store, proposal, settings):
    settings.TOM_BREAK_GLASS = True
    validate(store, proposal)
    with pytest.raises(InvalidInput, match="cannot approve their own proposal"):
        store.record_override(proposal.id, actor="OXIDE\u2060", reason="outage")
    with pytest.raises(InvalidInput, match="actor must name a person"):
        store.record_override(proposal.id, actor="\u200b\u3000", reason="outage")
    with pytest.raises(InvalidInput, match="approver must name a person"):
        approve(store, proposal, "\u00ad", "human")
    assert not Override.objects.exists()
    assert not Approval.objects.exists()


def test_an_approval_written_without_a_validation_says_why_it_does_not_count(
    store, proposal, clock
):
    Approval.objects.create(
        proposal=proposal, approver="ann", approval_type="human", decision="approved",
        decided_at=format_iso(clock()),
    )  # fmt: skip
    (view,) = rule.verdict_for(Proposal.objects.get(pk=proposal.pk)).decisions
    assert not view.counted
    assert view.reason == "not counted: the proposal had no validation when this was given"


def test_a_break_glass_decision_written_after_failing_checks_does_not_count(store, proposal):
    validate(store, proposal, passed=False)
    latest = rule.verdict_for(proposal).latest_validation
    # Behind the store (which refuses it): another writer's break-glass decision.
    Override.objects.create(
        proposal=proposal, actor="sam", reason="outage", decided_at="2999-01-01T00:00:00.000Z",
        validation_id=latest.pk, proposal_sha256=rule.proposal_digest(proposal.proposal_json),
        risk_level="high",
    )  # fmt: skip
    verdict = rule.verdict_for(Proposal.objects.get(pk=proposal.pk))
    (view,) = verdict.overrides
    assert not view.counted
    assert "the latest validation did not pass all four checks" in view.reason
    assert verdict.status == "drafted"
    assert verdict.bypassed == ()
