"""Annotations on the activity timeline (#23): who annotated what, with its scores, linked
to its target; filtered as their own kind; blind review kept (a queue's reviews show only
once their item has all of them); read through the annotations' (created_at, id) index and
paged by the timeline's cursor like every source."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from memory_app.overview.activity import _sources
from tests.helpers import body, full_sorts, query_plan, table_scans

pytestmark = pytest.mark.django_db
ACTIVITY = reverse("memory_app:activity")
ANNOTATIONS = ACTIVITY + "?kind=annotations"


def entries(page: str) -> list[str]:
    return re.findall(r'<li class="entry kind-annotation[^"]*" data-row>(.*?)</li>', page, re.S)


def test_an_annotation_shows_who_what_its_scores_and_links_its_target(
    reviewer_client, store, session_with_turns, turn_review_queue
):
    turn = session_with_turns.turns.get(role="assistant")
    store.annotate(
        "turn", turn.id, author="rita <b>", scores={"helpful": "no", "safe": True},
        comment="too curt",
    )  # fmt: skip
    store.annotate("session", session_with_turns.id, author="oscar", comment="fine")
    (on_session, on_turn) = entries(body(reviewer_client.get(ACTIVITY)))  # shown by default
    assert "rita &lt;b&gt;" in on_turn
    assert "helpful: no" in on_turn
    assert "safe: yes" in on_turn
    assert "too curt" in on_turn
    assert reverse("memory_app:turn_annotations", args=[turn.id]) in html.unescape(on_turn)
    assert reverse("memory_app:session", args=[session_with_turns.id]) in on_session
    assert "oscar" in on_session


def test_annotations_are_a_kind_of_their_own(reviewer_client, store, session_with_turns, proposal):
    store.annotate("session", session_with_turns.id, author="rita", comment="fine")
    only = body(reviewer_client.get(ANNOTATIONS))
    assert len(entries(only)) == 1
    assert "kind-approval" not in only
    assert "kind-event" not in only
    others = body(reviewer_client.get(ACTIVITY + "?kind=approvals"))
    assert entries(others) == []


def test_a_queue_s_reviews_show_only_once_their_item_has_them_all(
    reviewer_client, store, turn_review_queue
):
    turn_review_queue.reviewers_per_item = 2
    turn_review_queue.save(update_fields=["reviewers_per_item"])
    item = turn_review_queue.items.get()
    for n, who in enumerate(["someone", "someone else"]):
        assert entries(body(reviewer_client.get(ANNOTATIONS))) == [], n
        store.reserve_next_item(turn_review_queue.id, reviewer=who)
        store.review_item(item.id, reviewer=who, scores={"helpful": "no", "safe": True})
    assert len(entries(body(reviewer_client.get(ANNOTATIONS)))) == 2


def test_annotations_page_by_the_timeline_s_cursor_losing_none(
    reviewer_client, store, session_with_turns, clock, monkeypatch
):
    monkeypatch.setattr("memory_app.overview.pages.ACTIVITY_PAGE", 3)
    clock.set("2026-12-06T09:00:00.000Z", ticking=False)  # every one at the same instant
    made = {
        store.annotate("session", session_with_turns.id, author="rita", comment=f"c{n}").pk
        for n in range(7)
    }
    seen, url = [], ANNOTATIONS
    while url:
        page = body(reviewer_client.get(url))
        seen += re.findall(r"<q>(c\d)</q>", page)
        older = re.search(r'<a href="([^"]+)" hx-get="[^"]+">Older', page)
        url = ACTIVITY + html.unescape(older.group(1)) if older else None  # "?kind=..."
    assert len(made) == 7
    assert sorted(seen) == sorted(f"c{n}" for n in range(7))


def test_annotations_newest_keys_are_read_through_their_index(
    store, session_with_turns, turn_review_queue
):
    store.annotate("session", session_with_turns.id, author="rita", comment="fine")
    item = turn_review_queue.items.get()
    store.reserve_next_item(turn_review_queue.id, reviewer="rita")
    store.review_item(item.id, reviewer="rita", scores={"helpful": "no", "safe": True})
    (label, querysets, _), *_ = [s for s in _sources(["annotations"], [], None)]
    assert label == "annotation"
    with CaptureQueriesContext(connection) as captured:
        list(querysets[0].values_list("created_at", "pk")[:51])
    plan = query_plan(captured.captured_queries[0]["sql"], sorts_priced_out=True)
    assert "idx_annotations_since" in " ".join(plan), plan
    # Walked newest first in the index's order and left after a page: never sorted, and
    # no table read but through it.
    assert not full_sorts(plan), plan
    assert not [s for s in table_scans(plan) if "idx_annotations_since" not in s], plan
