"""Where a change is proposed from (#23): each annotation in an annotation list (the
transcript, a target's annotations page) links to the finding form for it, and a queue's
page links to it for the corrections of its reviewed items (blind review: only items with
all their reviews). Every link leads to the form, answering 200."""

import html
import re

import pytest
from django.urls import reverse

from memory_app.review.models import Annotation
from tests.helpers import body

pytestmark = pytest.mark.django_db
PROPOSE = re.compile(r'<a href="([^"]+)" data-propose>')


def propose_links(page: str) -> list[str]:
    return [html.unescape(href) for href in PROPOSE.findall(page)]


def test_an_annotated_turn_links_each_annotation_to_the_finding_form(
    reviewer_client, store, session_with_turns
):
    turn = session_with_turns.turns.get(role="assistant")
    annotation = store.annotate(
        "turn", turn.id, author="rita", comment="too curt", correction="Hello! How can I help?"
    )
    expected = f"{reverse('memory_app:new_finding')}?annotation={annotation.pk}"
    transcript = body(
        reviewer_client.get(reverse("memory_app:session", args=[session_with_turns.pk]))
    )
    own_page = body(reviewer_client.get(reverse("memory_app:turn_annotations", args=[turn.pk])))
    assert propose_links(transcript) == [expected]
    assert propose_links(own_page) == [expected]
    form = reviewer_client.get(expected)
    assert form.status_code == 200
    assert "Hello! How can I help?" in body(form)  # the document starts from the correction


def test_a_queue_links_the_corrections_of_its_reviewed_items_to_the_finding_form(
    reviewer_client, reviewer, store, turn_review_queue
):
    queue_page = reverse("memory_app:review_queue", args=[turn_review_queue.pk])
    assert propose_links(body(reviewer_client.get(queue_page))) == []  # nothing reviewed yet
    item = turn_review_queue.items.get()
    store.reserve_next_item(turn_review_queue.id, reviewer=reviewer.username)
    store.review_item(
        item.id,
        reviewer=reviewer.username,
        scores={"helpful": "no", "safe": True},
        correction="Hello! How can I help?",
    )
    (link,) = propose_links(body(reviewer_client.get(queue_page)))
    given = Annotation.objects.get(queue_item_id=item.pk)
    assert link == f"{reverse('memory_app:new_finding')}?annotation={given.pk}"
    form = reviewer_client.get(link)
    assert form.status_code == 200
    assert "Hello! How can I help?" in body(form)


def test_a_queue_links_an_item_s_reviews_only_once_it_has_them_all(
    reviewer_client, store, turn_review_queue
):
    """Blind review: a link to the form would show another reviewer's scores and
    correction to someone who may still review the item."""
    turn_review_queue.reviewers_per_item = 2
    turn_review_queue.save(update_fields=["reviewers_per_item"])
    item = turn_review_queue.items.get()
    queue_page = reverse("memory_app:review_queue", args=[turn_review_queue.pk])
    for n, who in enumerate(["someone", "someone else"]):
        assert propose_links(body(reviewer_client.get(queue_page))) == [], n
        store.reserve_next_item(turn_review_queue.id, reviewer=who)
        store.review_item(
            item.id, reviewer=who, scores={"helpful": "no", "safe": True}, correction=f"Hi {n}"
        )
    (link,) = propose_links(body(reviewer_client.get(queue_page)))
    assert link.count("annotation=") == 2
    assert reviewer_client.get(link).status_code == 200
