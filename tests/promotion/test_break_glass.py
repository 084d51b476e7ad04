"""Break-glass: a superuser's override, with a reason, while settings allow it."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from memory_app.models import AuditLeaf, Override, Proposal
from memory_app.promotion import decision_log, rule
from memory_app.store import InvalidInput
from tests.helpers import body, decide, validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("sam-super", password="pw-for-tests-only")


@pytest.fixture
def super_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def break_glass(settings):
    settings.TOM_BREAK_GLASS = True


@pytest.fixture
def waiting(store, proposal):
    """The high-risk proposal, validated, with its human approval only."""
    validate(store, proposal)
    decide(store, proposal, "ann", "human")
    return proposal


def override_url(proposal) -> str:
    return reverse("memory_app:record_override", args=[proposal.pk])


def page(client, proposal) -> str:
    return body(client.get(reverse("memory_app:proposal", args=[proposal.pk])))


def test_an_override_stands_in_for_the_missing_approvals(store, waiting, break_glass):
    recorded = store.record_override(waiting.pk, actor="sam", reason="outage: ship the fix")
    assert recorded.verdict.status == "approved"
    assert recorded.verdict.bypassed == ("policy", "security")
    assert recorded.verdict.bypassed_by == "sam"
    assert Proposal.objects.get(pk=waiting.pk).status == "approved"


def test_an_override_is_refused_unless_enabled_in_settings(store, waiting):
    with pytest.raises(InvalidInput, match=r"Break-glass is off: .* TOM_BREAK_GLASS=1"):
        store.record_override(waiting.pk, actor="sam", reason="outage")
    assert not Override.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_an_override_requires_a_reason(store, waiting, break_glass, reason):
    with pytest.raises(InvalidInput, match="reason must be a non-empty text"):
        store.record_override(waiting.pk, actor="sam", reason=reason)
    assert not Override.objects.exists()


def test_an_override_is_refused_without_passing_checks_or_once_approved(
    store, proposal, break_glass
):
    with pytest.raises(InvalidInput, match="no validation yet"):
        store.record_override(proposal.pk, actor="sam", reason="r")
    validate(store, proposal)
    for n, kind in enumerate(["human", "policy", "security"]):
        decide(store, proposal, f"p{n}", kind)
    with pytest.raises(InvalidInput, match="The proposal is approved: decisions are accepted"):
        store.record_override(proposal.pk, actor="sam", reason="r")
    assert not Override.objects.exists()


def test_the_proposer_cannot_break_glass_on_their_own_proposal(store, waiting, break_glass):
    Proposal.objects.filter(pk=waiting.pk).update(proposed_by="sam")
    with pytest.raises(InvalidInput, match="cannot approve their own proposal"):
        store.record_override(waiting.pk, actor="sam", reason="r")


def test_an_override_goes_stale_with_a_new_validation(store, waiting, break_glass):
    store.record_override(waiting.pk, actor="sam", reason="outage")
    validate(store, waiting)
    verdict = rule.verdict_for(Proposal.objects.get(pk=waiting.pk))
    assert verdict.status == "validated"
    assert verdict.bypassed == ()
    (view,) = verdict.overrides
    assert not view.counted
    assert view.reason == "stale: a newer validation came after this decision"


def test_an_override_expires_like_an_approval(store, waiting, break_glass, clock):
    store.record_override(waiting.pk, actor="sam", reason="outage")
    later = clock() + timedelta(days=31)  # high risk: 30 days
    verdict = rule.verdict_for(Proposal.objects.get(pk=waiting.pk), now=later)
    assert verdict.missing == ["human", "policy", "security"]
    assert verdict.overrides[0].expired


def test_an_override_is_its_own_kind_in_the_log_and_append_only(store, waiting, break_glass):
    recorded = store.record_override(waiting.pk, actor="sam", reason="outage")
    entry = AuditLeaf.objects.get(row_id=recorded.override.pk)
    assert entry.kind == "override"
    assert entry.index == AuditLeaf.objects.count() - 1
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE tommemory_overrides SET reason = 'nothing happened'")
    assert decision_log.take_in() == 0


def test_the_superuser_bypasses_from_the_page_and_sees_bypassed(super_client, waiting, break_glass):
    html = page(super_client, waiting)
    assert "Bypass the rule as sam-super" in html
    response = super_client.post(override_url(waiting), {"reason": "outage <b>now</b>"})
    assert response.status_code == 302
    html = page(super_client, waiting)
    assert '<span class="badge bypassed">bypassed</span>' in html
    assert "⚑ policy: bypassed by <strong>sam-super</strong> (break-glass)" in html
    assert "<q>outage &lt;b&gt;now&lt;/b&gt;</q>" in html
    assert "Bypass the rule" not in html  # nothing is missing any more


def test_a_missing_reason_is_said_at_the_form(super_client, waiting, break_glass):
    response = super_client.post(override_url(waiting), {"reason": " "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Say why the rule is bypassed: a reason is required." in body(response)
    assert not Override.objects.exists()


def test_break_glass_is_for_superusers_only(
    client, ops, reviewer, outsider, superuser, waiting, settings
):
    settings.TOM_BREAK_GLASS = True
    for user in (ops, reviewer, outsider):
        client.force_login(user)
        assert "Break glass" not in page(client, waiting) or user is outsider
        assert client.post(override_url(waiting), {"reason": "r"}).status_code == 403
    client.logout()
    assert client.post(override_url(waiting), {"reason": "r"}).status_code == 302  # sign in
    settings.TOM_BREAK_GLASS = False
    client.force_login(superuser)
    assert "Break glass" not in page(client, waiting)
    assert client.post(override_url(waiting), {"reason": "r"}).status_code == 403
    assert not Override.objects.exists()


def test_break_glass_needs_the_csrf_token(waiting, superuser, break_glass):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    assert client.post(override_url(waiting), {"reason": "r"}).status_code == 403
    assert not Override.objects.exists()


def test_the_queue_and_its_export_show_bypassed(super_client, store, waiting, break_glass):
    store.record_override(waiting.pk, actor="sam", reason="outage")
    queue = reverse("memory_app:proposals")
    approved = {"status": "approved"}
    assert '<span class="badge bypassed">bypassed</span>' in body(super_client.get(queue, approved))
    (row,) = json.loads(body(super_client.get(queue, approved | {"format": "json"})))
    assert row["bypassed_by"] == "sam"
    assert row["bypassed"] == "policy security"


def test_the_activity_timeline_and_its_export_show_the_override(
    super_client, store, waiting, break_glass
):
    store.record_override(waiting.pk, actor="sam", reason="outage")
    activity = reverse("memory_app:activity")
    assert "break-glass by sam" in body(super_client.get(activity, {"kind": "approvals"}))
    exported = json.loads(body(super_client.get(activity, {"kind": "approvals", "format": "json"})))
    kinds = [entry["kind"] for entry in exported]
    assert sorted(kinds) == ["approval", "override"]
