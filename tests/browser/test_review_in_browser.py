"""Review that changes the agent, in a real browser (#23): a reviewer takes a queue item,
scores it blind, proposes a change from their finding, and ops approve it."""

import pytest
from playwright.sync_api import expect

from memory_app.models import Annotation, FindingEvidence, Proposal, ReviewQueueItem
from memory_app.store import RuntimeMemoryStore

# The same pages on either engine, whose queries the page tests run on both.
pytestmark = [pytest.mark.browser, pytest.mark.engine_free]


def test_a_reviewer_s_finding_becomes_a_change_ops_approve(sign_in, reviewer, ops, live_app):
    store = RuntimeMemoryStore()
    session = store.start_session("tom", channel="cli")
    store.append_turn(session.id, "user", "What is the capital of Australia?")
    answer = store.append_turn(session.id, "assistant", "Sydney.")
    store.create_score_config(
        "verdict", "categorical", created_by="rhea", categories=["right", "wrong"]
    )
    queue = store.create_review_queue(
        "capitals", created_by="rhea", score_configs=["verdict"], reviewers_per_item=2
    )
    store.add_queue_items(queue.pk, [("turn", answer.id)], added_by="rhea")
    # Another reviewer's score is there already: blind review keeps it hidden until ours.
    item = ReviewQueueItem.objects.get()
    store.annotate("turn", answer.id, author="sam", scores={"verdict": "right"},
                   queue_item_id=item.pk)  # fmt: skip

    page = sign_in(reviewer)
    page.goto(live_app.url + f"/review/queues/{queue.pk}/")
    page.click("text=Take the next item")
    expect(page.locator("form.annotate")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("sam")  # blind
    score = page.locator("[name=score_0]")
    if score.first.evaluate("e => e.tagName") == "SELECT":
        score.select_option("wrong")
    else:
        page.check("[name=score_0][value=wrong]")
    page.fill("[name=comment]", "wrong capital")
    page.fill("[name=correction]", "Canberra.")
    page.click("form.annotate button[type=submit]")
    expect(page.locator("body")).to_contain_text("sam")  # seen once ours is given
    mine = Annotation.objects.get(author=reviewer.username)

    # Propose a change from the finding (the form a queue's results and an annotation link to).
    page.goto(live_app.url + f"/review/findings/new/?annotation={mine.pk}")
    expect(page.locator("textarea[name=document]")).to_contain_text("Canberra.")
    page.fill("[name=skill_key]", "capitals")
    page.fill("[name=description]", "Tom gets capitals wrong")
    page.select_option("[name=risk_level]", "low")
    page.click("form.decide button[type=submit]")
    proposal = Proposal.objects.get()
    expect(page).to_have_url(live_app.url + f"/proposals/{proposal.pk}/")
    expect(page.locator("#evidence")).to_contain_text("wrong capital")
    assert FindingEvidence.objects.get().annotation_id == mine.pk

    # Validated by CI, then decided by ops like any other proposal.
    store.record_validation(
        proposal.pk, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1
    )
    page.context.clear_cookies()
    page = sign_in(ops)
    page.goto(live_app.url + f"/proposals/{proposal.pk}/")
    page.select_option("#id_approval_type", "human")
    page.check("input[name=decision][value=approved]")
    page.click("#decisions form.decide button[type=submit]")
    expect(page.locator("#decisions h2 .badge")).to_have_text("approved")
    assert Proposal.objects.get().status == "approved"
