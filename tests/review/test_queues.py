"""Review queues (#23): making a queue, adding items never twice, reserving the next item
(two reviewers never hold the same one; a reviewer is never offered what they reviewed; an
item with all its reviews is not offered), blind review, progress, agreement, exports, and
who may do what."""

import subprocess
import sys
from datetime import timedelta

import pytest

from memory_app.errors import InvalidInput, NotFound
from memory_app.review.agreement import ALPHA, KAPPA, agreement
from memory_app.review.queue_models import (
    ReviewQueue,
    ReviewQueueConfig,
    ReviewReservation,
)
from memory_app.timeutil import format_iso, parse_iso
from tests.helpers import REPO, TEST_NOW, start_together

pytestmark = pytest.mark.django_db
NOW = parse_iso(TEST_NOW)


@pytest.fixture
def configs(store):
    store.create_score_config(
        "helpful", "categorical", created_by="rhea", categories=["yes", "partly", "no"]
    )
    store.create_score_config("accuracy", "numeric", created_by="rhea", min_value=0, max_value=5)
    store.create_score_config("safe", "boolean", created_by="rhea")
    return ["helpful", "accuracy", "safe"]


@pytest.fixture
def sessions(store):
    made = []
    for n in range(4):
        session = store.start_session("tom", channel="cli" if n % 2 else "web")
        for role, content in [("user", f"question {n}"), ("assistant", f"answer {n}")]:
            store.append_turn(session.id, role, content)
        made.append(session)
    return made


@pytest.fixture
def queue(store, configs, sessions):
    queue = store.create_review_queue(
        "answers", created_by="rhea", score_configs=["helpful", "safe"], reviewers_per_item=2
    )
    store.add_queue_items(queue.id, [("session", s.id) for s in sessions], added_by="rhea")
    return queue


def review(store, item, who, helpful="yes", safe=True, **kw):
    return store.review_item(item.id, reviewer=who, scores={"helpful": helpful, "safe": safe}, **kw)


# --- making a queue and adding items ----------------------------------------------------


def test_a_queue_keeps_its_score_configs_in_order(store, configs, clock):
    clock.set(NOW, ticking=False)
    queue = store.create_review_queue(
        "q", created_by="rhea", score_configs=["safe", "helpful"], reviewers_per_item=3,
        reservation_seconds=600, description="weekly",
    )  # fmt: skip
    assert [c.name for c in queue.score_configs()] == ["safe", "helpful"]
    assert (queue.reviewers_per_item, queue.reservation_seconds) == (3, 600)
    assert queue.created_at == TEST_NOW


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"name": " "}, "name must"),
        ({"score_configs": []}, "at least one score config"),
        ({"score_configs": ["safe", "safe"]}, "listed twice"),
        ({"score_configs": ["nope"]}, "no score config named 'nope'"),
        ({"reviewers_per_item": 0}, "from 1 to 50"),
        ({"reviewers_per_item": True}, "from 1 to 50"),
        ({"reservation_seconds": 5}, "from 60 to 86400"),
        ({"created_by": "\u200b"}, "must name a person"),
    ],
)
def test_a_queue_that_cannot_be_made_is_refused_with_nothing_written(
    store, configs, change, refusal
):
    values = {"name": "q", "created_by": "rhea", "score_configs": ["safe"]} | change
    with pytest.raises((InvalidInput, NotFound), match=refusal):
        store.create_review_queue(values.pop("name"), **values)
    assert not ReviewQueue.objects.exists()
    assert not ReviewQueueConfig.objects.exists()


def test_a_queue_name_is_taken_once(store, configs):
    store.create_review_queue("q", created_by="rhea", score_configs=["safe"])
    with pytest.raises(InvalidInput, match="exists already"):
        store.create_review_queue("q", created_by="rhea", score_configs=["helpful"])
    assert ReviewQueue.objects.count() == 1


def test_items_are_added_never_twice_and_the_skipped_are_counted(store, queue, sessions):
    again = [("session", s.id) for s in sessions[:2]] + [("turn", sessions[0].turns.first().id)]
    added = store.add_queue_items(queue.id, again + again[-1:], added_by="rhea")
    assert (added.added, added.skipped) == (1, 3)
    assert queue.items.count() == 5


def test_an_unknown_target_refuses_the_whole_addition(store, queue):
    with pytest.raises(NotFound, match="no workflow run with id 'x'"):
        store.add_queue_items(queue.id, [("workflow_run", "x")], added_by="rhea")
    with pytest.raises(NotFound, match="no turn with id 'nope'"):
        store.add_queue_items(
            queue.id,
            [("session", queue.items.first().target_id), ("turn", "nope")],
            added_by="rhea",
        )
    with pytest.raises(InvalidInput, match="target_kind"):
        store.add_queue_items(queue.id, [("answer", "x")], added_by="rhea")
    assert queue.items.count() == 4


# --- taking the next item ----------------------------------------------------------------


def test_the_next_item_is_reserved_for_its_time_and_given_again_to_its_holder(store, queue, clock):
    clock.set(NOW, ticking=False)
    first = store.reserve_next_item(queue.id, reviewer="rita")
    assert first == queue.items.in_order().first()
    assert store.reserve_next_item(queue.id, reviewer="rita") == first  # asking again
    held = ReviewReservation.objects.get()
    assert (held.reviewer, held.reserved_at) == ("rita", TEST_NOW)
    assert held.expires_at == format_iso(NOW + timedelta(seconds=900))
    # Someone else is given the next one; once rita's time runs out, hers is offered.
    assert store.reserve_next_item(queue.id, reviewer="sam") != first
    clock.set(NOW + timedelta(seconds=901), ticking=False)
    assert store.reserve_next_item(queue.id, reviewer="tia") == first


def test_a_reviewer_is_never_offered_an_item_they_reviewed(store, queue, clock):
    clock.set(NOW, ticking=False)
    items = list(queue.items.in_order())
    for item in items:
        assert store.reserve_next_item(queue.id, reviewer="rita") == item
        review(store, item, "rita")
    assert store.reserve_next_item(queue.id, reviewer="rita") is None
    # Others still are: each item needs two reviewers.
    assert store.reserve_next_item(queue.id, reviewer="sam") == items[0]


def test_an_item_with_all_its_reviews_is_not_offered(store, queue, clock):
    clock.set(NOW, ticking=False)
    first = queue.items.in_order().first()
    for who in ("rita", "sam"):
        assert store.reserve_next_item(queue.id, reviewer=who) == first
        review(store, first, who)
    assert store.reserve_next_item(queue.id, reviewer="tia") != first
    with pytest.raises(InvalidInput, match="has all the reviews it needs"):
        review(store, first, "uma")


def test_a_review_is_refused_to_someone_the_item_is_not_offered_to(store, queue, clock):
    clock.set(NOW, ticking=False)
    first = store.reserve_next_item(queue.id, reviewer="rita")
    with pytest.raises(InvalidInput, match="someone else is reviewing this item"):
        review(store, first, "sam")
    review(store, first, "rita", comment="fine")
    with pytest.raises(InvalidInput, match="you reviewed this item already"):
        review(store, first, "rita")
    assert first.queue.annotations().count() == 1


def test_a_review_gives_every_score_the_queue_asks_and_no_other(store, queue):
    item = queue.items.first()
    with pytest.raises(InvalidInput, match="safe is missing"):
        store.review_item(item.id, reviewer="rita", scores={"helpful": "yes"})
    with pytest.raises(InvalidInput, match="does not ask for accuracy"):
        store.review_item(
            item.id, reviewer="rita", scores={"helpful": "yes", "safe": True, "accuracy": 3}
        )
    with pytest.raises(InvalidInput, match="score 'helpful' takes one of"):
        review(store, item, "rita", helpful="maybe")
    assert not queue.annotations().exists()
    annotation = review(store, item, "rita")
    assert (annotation.queue_item_id, annotation.target_id) == (item.id, item.target_id)


def test_two_reviewers_asking_at_once_never_hold_the_same_item(shared_db):
    """Four reviewers in their own processes ask for the next item of a queue of two at
    the same moment: two get one each, different ones, and two get none (both engines)."""
    shared_db.executescript(
        "INSERT INTO tommemory_review_queues (id, name, description, reviewers_per_item, "
        "reservation_seconds, created_by, created_at) VALUES ('q', 'q', '', 2, 900, 'rhea', "
        "'2026-01-01T00:00:00.000Z');"
        "INSERT INTO tommemory_review_queue_items (id, queue_id, target_kind, target_id, "
        "added_by, added_at) VALUES ('i1', 'q', 'session', 's1', 'rhea', "
        "'2026-01-01T00:00:00.000Z');"
        "INSERT INTO tommemory_review_queue_items (id, queue_id, target_kind, target_id, "
        "added_by, added_at) VALUES ('i2', 'q', 'session', 's2', 'rhea', "
        "'2026-01-01T00:00:01.000Z')"
    )
    start_at = start_together()
    reviewers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.reserve_process", "q", who, start_at],
            cwd=REPO,
            env=shared_db.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("ann", "bob", "cy", "dee")
    ]
    results = [r.communicate(timeout=120) for r in reviewers]
    assert [r.returncode for r in reviewers] == [0, 0, 0, 0], results
    assert sorted(out.strip() for out, _ in results) == ["-", "-", "i1", "i2"]
    held = shared_db.execute(
        "SELECT item_id, COUNT(*) FROM tommemory_review_reservations GROUP BY item_id ORDER BY 1"
    )
    assert held == [("i1", 1), ("i2", 1)]


# --- agreement ------------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": four coders, twelve
# units, missing values; alpha is 0.743 nominal and 0.849 interval.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _by_item(rows, as_value):
    ratings = {}
    for coder, row in zip("ABCD", rows, strict=True):
        for unit, value in enumerate(row):
            if value is not None:
                ratings.setdefault(f"u{unit}", {})[coder] = as_value(value)
    return ratings


def test_alpha_is_krippendorff_s_own_example():
    nominal = agreement(_by_item(KRIPPENDORFF_2011, str), numeric=False)
    assert (nominal.measure, round(nominal.value, 3), nominal.reviewers) == (ALPHA, 0.743, 4)
    interval = agreement(_by_item(KRIPPENDORFF_2011, float), numeric=True)
    assert (interval.measure, round(interval.value, 3)) == (ALPHA, 0.849)


def test_kappa_for_two_reviewers_is_the_textbook_value():
    # 50 items: both yes 20, yes/no 5, no/yes 10, both no 15: po 0.7, pe 0.5, kappa 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10
    pairs += [("no", "no")] * 15
    found = agreement({f"i{n}": {"a": x, "b": y} for n, (x, y) in enumerate(pairs)}, numeric=False)
    assert (found.measure, found.value, found.items) == (KAPPA, pytest.approx(0.4), 50)


@pytest.mark.parametrize(
    "ratings",
    [
        {},
        {"i1": {"a": "yes", "b": "no"}},  # one item compared
        {"i1": {"a": "yes"}, "i2": {"b": "no"}},  # no item scored twice
        {"i1": {"a": "yes", "b": "yes"}, "i2": {"a": "yes", "b": "yes"}},  # all alike
    ],
)
def test_too_few_ratings_say_so_instead_of_a_nan(ratings):
    found = agreement(ratings, numeric=False)
    assert found.value is None
    assert found.note.startswith("not enough ratings")
