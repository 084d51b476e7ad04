"""A queue's "done by" and progress lookups find an item's annotations through
idx_annotations_queue_item (queue_item_id, author), never by reading every annotation: the
queue page, the next item and a review ask them for every item and reviewer."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memory_app.review.queue_models import ReviewQueueItem, ReviewReservation
from tests.helpers import TEST_NOW, query_plan, table_scans

pytestmark = pytest.mark.django_db
INDEX = "idx_annotations_queue_item"


def statements(call) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        call()
    return [q["sql"] for q in queries.captured_queries]


LOOKUPS = {
    "done by": lambda q: ReviewQueueItem.objects.filter(queue=q).done_by("rita").exists(),
    "item progress": lambda q: list(q.items.with_progress()),
    "queue progress": lambda q: list(type(q).objects.with_progress()),
    "reviewer progress": lambda q: q.reviewer_progress(),
    "reservations holding": lambda q: list(ReviewReservation.objects.holding(TEST_NOW)),
    "offered": lambda q: list(q.items.offered_to("rita", TEST_NOW)),
}


@pytest.mark.parametrize("lookup", LOOKUPS)
def test_queue_lookups_read_annotations_through_their_queue_item_index(
    store, turn_review_queue, lookup
):
    item = turn_review_queue.items.get()
    store.reserve_next_item(turn_review_queue.id, reviewer="rita")
    store.review_item(item.id, reviewer="rita", scores={"helpful": "yes", "safe": True})
    (sql,) = [s for s in statements(lambda: LOOKUPS[lookup](turn_review_queue))]
    plan = query_plan(sql)
    assert INDEX in " ".join(plan), plan
    read_whole = [s for s in table_scans(plan) if "tommemory_annotations" in s]
    assert read_whole == [], plan
