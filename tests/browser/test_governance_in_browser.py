"""Deciding on a proposal in a real browser."""

import pytest
from playwright.sync_api import expect

from memory_app.models import Approval
from memory_app.store import RuntimeMemoryStore

# What the browser shows is the same page on either engine, whose queries the page tests
# run on both: these run once, in the SQLite half.
pytestmark = [pytest.mark.browser, pytest.mark.engine_free]


@pytest.fixture
def validated(live_app):
    store = RuntimeMemoryStore()
    skill = store.learn_skill("triage", "Triage alerts", source_type="doc", confidence=0.8)
    proposal = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="config_change",
        proposal={"diff": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"}, risk_level="low",
    )  # fmt: skip
    store.record_validation(
        proposal.id, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1
    )
    return proposal


def test_ops_approves_and_sees_the_status_change_in_place(sign_in, ops, live_app, validated):
    page = sign_in(ops)
    page.goto(live_app.url + f"/proposals/{validated.id}/")
    page.evaluate("window.__sameDocument = true")
    page.select_option("#id_approval_type", "human")
    page.check("input[name=decision][value=approved]")
    page.click("form.decide button[type=submit]")
    decisions = page.locator("#decisions")
    expect(decisions).to_contain_text("Recorded: human approved.")
    expect(decisions.locator("h2 .badge")).to_have_text("approved")
    expect(decisions).to_contain_text(f"human by {ops.username}")
    assert page.evaluate("window.__sameDocument") is True
    assert Approval.objects.get().approver == ops.username


def test_reject_without_notes_shows_the_error(sign_in, ops, live_app, validated):
    page = sign_in(ops)
    page.goto(live_app.url + f"/proposals/{validated.id}/")
    page.check("input[name=decision][value=rejected]")
    page.click("form.decide button[type=submit]")
    expect(page.locator("#decisions [role=alert]")).to_contain_text("a rejection needs notes")
    assert Approval.objects.count() == 0


def test_reviewer_sees_no_decision_form(sign_in, reviewer, live_app, validated):
    page = sign_in(reviewer)
    page.goto(live_app.url + f"/proposals/{validated.id}/")
    expect(page.locator("#decisions h2")).to_be_visible()
    expect(page.locator("form.decide")).to_have_count(0)


def test_a_decision_made_in_the_browser_arrives_at_a_webhook(sign_in, ops, live_app, validated):
    from django.core.management import call_command

    from memory_app.models import WebhookDelivery, WebhookEndpoint
    from tests.helpers import Receiver

    receiver = Receiver()
    try:
        WebhookEndpoint.objects.create(
            name="ops chat", url=receiver.url("/hook"), events=["decision.recorded"]
        )
        page = sign_in(ops)
        page.goto(live_app.url + f"/proposals/{validated.id}/")
        page.check("input[name=decision][value=approved]")
        page.click("form.decide button[type=submit]")
        expect(page.locator("#decisions")).to_contain_text("Recorded: human approved.")
        # The worker (python manage.py db_worker) runs what the decision enqueued.
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
        (arrived,) = receiver.bodies("/hook")
        assert arrived["event"] == "decision.recorded"
        assert arrived["decision"] == {"type": "human", "decision": "approved", "by": ops.username}
        assert WebhookDelivery.objects.get().status == "delivered"
    finally:
        receiver.server.shutdown()
