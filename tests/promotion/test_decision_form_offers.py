"""The decision form offers only the approval types that would count for the person
deciding, says why the others are not offered, and the server refuses the rest."""

import re

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from memory_app.models import Approval, ApprovalType, Decision, Proposal
from memory_app.promotion import rule
from tests.helpers import body, decide, validate

pytestmark = pytest.mark.django_db


def page_url(proposal) -> str:
    return reverse("memory_app:proposal", args=[proposal.pk])


def post(client, proposal, kind, decision="approved", notes="", token="t-1", **extra):
    data = {"approval_type": kind, "decision": decision, "notes": notes, "token": token}
    return client.post(reverse("memory_app:record_decision", args=[proposal.pk]), data, **extra)


def offered(html: str) -> list[str]:
    """The approval types the form's select offers."""
    select = re.search(r'<select name="approval_type".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="(\w+)"', select)


def test_after_approving_human_at_high_risk_nothing_that_would_not_count_is_offered(
    ops_client, ops, validated
):
    """The finding: after human, the form defaulted to policy, recorded it and then said
    "does not count"."""
    assert post(ops_client, validated, "human").status_code == 302
    html = body(ops_client.get(page_url(validated)))
    assert "No approval of yours would count here; a rejection can still be recorded." in html
    assert 'value="approved" required id="id_decision_0" disabled>' in html
    assert 'value="rejected" required id="id_decision_1" checked>' in html
    assert (
        "<strong>policy, security</strong>: you already gave human on this proposal; a high-risk "
        "proposal needs each type from a different person"
    ) in html
    assert "<strong>human</strong>: you already gave it, and it counts" in html
    # Posted anyway (an old tab, a hand-made request): refused in words, nothing written.
    for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = post(ops_client, validated, "policy", token="t-2", **extra)
        assert response.status_code == (200 if extra else 422)
        assert (
            "Not recorded: your policy approval would not count (you already gave human on "
            "this proposal; a high-risk proposal needs each type from a different person)."
        ) in body(response)
    assert Approval.objects.count() == 1


def test_only_the_types_that_would_count_are_offered_and_the_others_say_why(
    ops_client, store, validated
):
    decide(store, validated, "bob", "human")
    html = body(ops_client.get(page_url(validated)))
    assert offered(html) == ["policy", "security"]
    assert '<option value="policy" selected>' in html
    assert "Not offered to you" in html
    assert "<strong>human</strong>: already approved by bob" in html
    assert 'id="id_decision_0" disabled' not in html
    response = post(ops_client, validated, "human")
    assert response.status_code == 422
    assert "your human approval would not count (already approved by bob)" in body(response)
    assert post(ops_client, validated, "security", token="t-2").status_code == 302
    assert rule.verdict_for(Proposal.objects.get()).satisfied["security"] == "oscar-ops"


def test_a_type_the_risk_level_does_not_require_is_neither_offered_nor_recorded(
    ops_client, store, validated
):
    Proposal.objects.filter(pk=validated.pk).update(risk_level="low")
    html = body(ops_client.get(page_url(validated)))
    assert offered(html) == ["human"]
    response = post(ops_client, validated, "ops")
    assert "would not count (ops approvals are not required at low risk)" in body(response)
    assert Approval.objects.count() == 0


def test_a_rejection_is_still_offered_and_counts_when_no_approval_would(
    ops_client, store, validated
):
    decide(store, validated, "oscar-ops", "human")
    response = post(ops_client, validated, "policy", "rejected", notes="the retry path breaks")
    assert response.status_code == 302
    assert rule.verdict_for(Proposal.objects.get()).status == "rejected"


def test_someone_counted_for_one_type_is_offered_another_when_the_matching_can_move_them(
    ops_client, store, validated
):
    """The offer is the rule's matching run again, not a second count: ann and oscar both
    approved human (one counts); oscar's policy would count, ann then counting as human."""
    decide(store, validated, "ann", "human")
    decide(store, validated, "oscar-ops", "human")
    verdict = rule.verdict_for(Proposal.objects.get())
    assert verdict.satisfied == {"human": "oscar-ops"}
    assert verdict.types_open_to("oscar-ops") == ["policy", "security"]
    assert offered(body(ops_client.get(page_url(validated)))) == ["policy", "security"]
    assert post(ops_client, validated, "policy").status_code == 302
    after = rule.verdict_for(Proposal.objects.get())
    assert after.satisfied == {"human": "ann", "policy": "oscar-ops"}


def test_the_proposer_and_failing_checks_still_offer_only_a_rejection(ops_client, store, proposal):
    validate(store, proposal, passed=False)
    html = body(ops_client.get(page_url(proposal)))
    assert "only a rejection can be recorded" in html
    assert "No approval of yours would count" not in html  # said once, by the refusal
    assert 'value="approved" required id="id_decision_0" disabled>' in html
    assert offered(html) == ["human", "policy", "security"]  # a rejection of any type counts


@given(
    kind=st.sampled_from(ApprovalType.values) | st.text(max_size=12),
    decision=st.sampled_from(Decision.values) | st.text(max_size=12),
    htmx=st.booleans(),
)
def test_any_posted_decision_that_would_not_count_is_answered_and_writes_nothing(
    ops_client, ops, store, validated, kind, decision, htmx
):
    """Once oscar counts as human at high risk, no approval of his counts and a rejection
    without notes is refused: whatever is posted, a clear answer and no new row."""
    if not Approval.objects.exists():
        decide(store, validated, ops.username, "human")
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = post(ops_client, validated, kind, decision, token="t-any", **extra)
    assert response.status_code == (200 if htmx else 422)
    assert Approval.objects.count() == 1
