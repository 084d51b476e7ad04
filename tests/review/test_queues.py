"""Review queues (#23): making a queue, adding items never twice, reserving the next item
(two reviewers never hold the same one; a reviewer is never offered what they reviewed; an
item with all its reviews is not offered), blind review, progress, agreement, exports, and
who may do what."""

import json
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from memory_app.errors import InvalidInput, NotFound
from memory_app.review.agreement import ALPHA, KAPPA, agreement
from memory_app.review.queue_models import (
    ReviewQueue,
    ReviewQueueConfig,
    ReviewQueueItem,
    ReviewReservation,
)
from memory_app.timeutil import format_iso, parse_iso
from tests.helpers import REPO, TEST_NOW, body, count_queries, start_together

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


# --- pages ----------------------------------------------------------------------------------


def queue_url(queue, name="review_queue", *more):
    return reverse(f"memory_app:{name}", args=[queue.pk, *more])


def item_url(item):
    return reverse("memory_app:review_queue_item", args=[item.queue_id, item.pk])


def rows_written() -> tuple[int, ...]:
    models = (ReviewQueue, ReviewQueueConfig, ReviewQueueItem, ReviewReservation)
    return tuple(m.objects.count() for m in models)


def scores_post(**more) -> dict:
    # The form's fields: score_<n> in the queue's order (helpful, then safe).
    return {"score_0": "yes", "score_1": "true", "comment": ""} | more


def test_outsiders_get_403_on_every_page_and_post_and_nothing_is_written(outsider_client, queue):
    item = queue.items.first()
    before = (rows_written(), queue.annotations().count())
    pages = [
        reverse("memory_app:review_queues"),
        reverse("memory_app:review_queue_new"),
        queue_url(queue),
        queue_url(queue) + "?format=jsonl",
        item_url(item),
    ]
    for url in pages:
        assert outsider_client.get(url).status_code == 403, url
    posts = {
        reverse("memory_app:review_queue_new"): {"name": "x", "score_configs": ["safe"],
                                                 "reviewers_per_item": 1,
                                                 "reservation_minutes": 15},
        queue_url(queue, "review_queue_next"): {},
        queue_url(queue, "review_queue_add_items"): {"target_kind": "session",
                                                     "target_id": item.target_id},
        item_url(item): scores_post(),
    }  # fmt: skip
    for url, data in posts.items():
        assert outsider_client.post(url, data).status_code == 403, url
    assert (rows_written(), queue.annotations().count()) == before


def test_reviewers_take_items_but_only_review_admins_make_queues_add_and_export(
    reviewer_client, queue
):
    assert reviewer_client.get(reverse("memory_app:review_queue_new")).status_code == 403
    add = queue_url(queue, "review_queue_add_items")
    assert reviewer_client.post(add, {"list_address": "/sessions/"}).status_code == 403
    assert reviewer_client.get(queue_url(queue) + "?format=csv").status_code == 403
    page = body(reviewer_client.get(queue_url(queue)))
    assert "Take the next item" in page
    assert "Add items" not in page
    assert "format=jsonl" not in page
    assert "New review queue" not in body(reviewer_client.get(reverse("memory_app:review_queues")))


def test_a_review_admin_makes_a_queue_from_the_form(client, review_admin, configs):
    client.force_login(review_admin)
    new = reverse("memory_app:review_queue_new")
    form = body(client.get(new))
    assert 'name="score_configs"' in form
    assert "helpful" in form
    data = {"name": "weekly", "score_configs": ["safe", "helpful"], "reviewers_per_item": 2,
            "reservation_minutes": 10, "description": "the week's answers"}  # fmt: skip
    response = client.post(new, data)
    queue = ReviewQueue.objects.get()
    assert response.status_code == 302
    assert response["Location"] == queue_url(queue)
    assert (queue.reviewers_per_item, queue.reservation_seconds) == (2, 600)
    assert [c.name for c in queue.score_configs()] == ["helpful", "safe"]
    assert queue.created_by == review_admin.username
    taken = client.post(new, data)  # the name is taken: said, nothing more written
    assert taken.status_code == 422
    assert "exists already" in body(taken)
    assert ReviewQueue.objects.count() == 1


@given(
    data=st.dictionaries(
        st.sampled_from(
            ["name", "description", "score_configs", "reviewers_per_item", "reservation_minutes"]
        ),
        st.one_of(st.text(max_size=30), st.sampled_from(["safe", "helpful", "0", "2", "1e9"])),
    )
)
def test_any_queue_form_input_is_made_or_refused_with_nothing_written(
    client, review_admin, configs, data
):
    client.force_login(review_admin)
    before = ReviewQueue.objects.count()
    response = client.post(reverse("memory_app:review_queue_new"), data)
    assert response.status_code in (302, 422)
    assert ReviewQueue.objects.count() == before + (response.status_code == 302)
    ReviewQueueConfig.objects.all().delete()
    ReviewQueue.objects.all().delete()


def test_items_come_from_the_address_of_a_filtered_list(
    client, review_admin, store, queue, sessions
):
    client.force_login(review_admin)
    add = queue_url(queue, "review_queue_add_items")
    cli = [s.id for s in sessions if s.channel == "cli"]
    # The sessions the list shows for channel=cli: already in the queue, so skipped.
    response = client.post(add, {"list_address": "http://testserver/sessions/?channel=cli"})
    assert response.status_code == 302
    assert "Added 0 item(s); skipped 2 already in the queue." in body(client.get(queue_url(queue)))
    # The turns a search finds, narrowed to the cli sessions.
    client.post(add, {"list_address": "/sessions/?q=answer&channel=cli"})
    turns = set(queue.items.filter(target_kind="turn").values_list("target_id", flat=True))
    assert turns == {
        t.id for s in sessions if s.id in cli for t in s.turns.filter(role="assistant")
    }
    # Workflow runs, one of them.
    run = store.start_workflow_run("nightly", trigger_source="cron", initiated_by="cron")
    client.post(add, {"list_address": "/workflows/?workflow_name=nightly"})
    assert queue.items.filter(target_kind="workflow_run", target_id=run.id).exists()
    # One by one, twice: once.
    for _ in range(2):
        client.post(add, {"target_kind": "turn", "target_id": sessions[0].turns.first().id})
    assert queue.items.count() == 4 + len(turns) + 1 + 1


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("/proposals/", "not the address of the session list"),
        ("/sessions/?started_from=yesterday", "filter has errors"),
        ("", "This field is required"),
    ],
)
def test_an_address_that_selects_no_list_is_refused_beside_the_form(
    client, review_admin, queue, address, said
):
    client.force_login(review_admin)
    before = queue.items.count()
    response = client.post(queue_url(queue, "review_queue_add_items"), {"list_address": address})
    assert response.status_code == 422
    assert said in body(response)
    assert queue.items.count() == before


@given(query=st.text(max_size=60), path=st.sampled_from(["/sessions/", "/workflows/", "/x/"]))
def test_any_list_query_string_adds_or_is_refused_with_nothing_written(
    client, review_admin, queue, query, path
):
    client.force_login(review_admin)
    before = queue.items.count()
    response = client.post(
        queue_url(queue, "review_queue_add_items"), {"list_address": f"{path}?{query}"}
    )
    assert response.status_code in (302, 422)
    if response.status_code == 422:
        assert queue.items.count() == before
    queue.items.exclude(target_kind="session").delete()


def test_a_reviewer_takes_the_next_item_and_scores_it(reviewer_client, reviewer, queue, clock):
    clock.set(NOW, ticking=False)
    first = queue.items.in_order().first()
    taken = reviewer_client.post(queue_url(queue, "review_queue_next"))
    assert taken.status_code == 302
    assert taken["Location"] == item_url(first)
    page = body(reviewer_client.get(item_url(first)))
    assert "question 0" in page
    assert "answer 0" in page
    assert 'name="score_0"' in page
    assert "Save my review" in page
    saved = reviewer_client.post(item_url(first), scores_post(comment="clear"))
    assert saved.status_code == 302
    annotation = queue.annotations().get()
    assert (annotation.author, annotation.comment) == (reviewer.username, "clear")
    # The next one is another item.
    assert reviewer_client.post(queue_url(queue, "review_queue_next"))["Location"] != (
        item_url(first)
    )


def test_a_refused_review_is_said_and_writes_nothing(reviewer_client, queue):
    item = queue.items.first()
    response = reviewer_client.post(item_url(item), scores_post(score_0=""))
    assert response.status_code == 422
    assert "helpful is missing" in body(response)
    assert not queue.annotations().exists()


def test_review_is_blind_until_you_gave_yours(client, reviewer, ops, store, queue, clock):
    clock.set(NOW, ticking=False)
    item = store.reserve_next_item(queue.id, reviewer="someone")
    review(store, item, "someone", helpful="partly", comment="a secret opinion")
    client.force_login(reviewer)
    before = body(client.get(item_url(item)))
    assert "a secret opinion" not in before
    assert "helpful: partly" not in before
    assert "1 other reviewer has reviewed this item" in before
    client.post(item_url(item), scores_post())
    after = body(client.get(item_url(item)))
    assert "a secret opinion" in after
    assert "helpful: partly" in after


def test_review_stays_blind_on_the_transcript_and_the_score_facet_until_the_item_is_done(
    reviewer_client, store, queue, sessions, clock
):
    # Another reviewer's scores must not be readable outside the queue either: on the
    # session's transcript, or counted in the session list's score facet.
    clock.set(NOW, ticking=False)
    item = store.reserve_next_item(queue.id, reviewer="someone")
    review(store, item, "someone", helpful="partly", comment="a secret opinion")
    transcript = reverse("memory_app:session", args=[item.target_id])
    listed = reverse("memory_app:sessions")
    assert "a secret opinion" not in body(reviewer_client.get(transcript))
    assert "helpful:partly" not in body(reviewer_client.get(listed))
    review(store, store.reserve_next_item(queue.id, reviewer="other"), "other")
    assert "a secret opinion" in body(reviewer_client.get(transcript))
    assert "helpful:partly" in body(reviewer_client.get(listed))


def test_the_queue_page_shows_progress_and_agreement_in_a_bounded_number_of_queries(
    client, review_admin, store, queue, sessions, clock
):
    clock.set(NOW, ticking=False)
    items = list(queue.items.in_order())
    verdicts = {"ann": ["yes", "no", "yes", "no"], "bob": ["yes", "no", "no", "no"]}
    for who, said in verdicts.items():
        for item, helpful in zip(items, said, strict=True):
            review(store, item, who, helpful=helpful, safe=helpful == "yes")
    client.force_login(review_admin)
    page = body(client.get(queue_url(queue)))
    assert "4 of 4 items done" in page
    assert re.search(r"ann</td><td [^>]*>4<", page)
    assert re.search(r"bob</td><td [^>]*>4<", page)
    # helpful: po 3/4, pe 1/2 ... kappa 0.5; safe the same.
    assert page.count("Cohen&#x27;s kappa") == 2
    assert "0.500" in page
    queries = count_queries(client, queue_url(queue))
    more = [store.start_session("tom") for _ in range(5)]
    store.add_queue_items(queue.id, [("session", s.id) for s in more], added_by="rhea")
    assert count_queries(client, queue_url(queue)) == queries


def test_the_export_carries_the_turns_in_context_the_scores_and_the_reviewers(
    client, review_admin, store, queue, sessions, clock
):
    clock.set(NOW, ticking=False)
    turn = sessions[1].turns.get(turn_index=1)
    store.add_queue_items(queue.id, [("turn", turn.id)], added_by="rhea")
    item = queue.items.get(target_id=turn.id)
    store.review_item(
        item.id, reviewer="ann", scores={"helpful": "no", "safe": True},
        correction="the right answer", comment="=cmd()",
    )  # fmt: skip
    client.force_login(review_admin)
    response = client.get(queue_url(queue) + "?format=jsonl")
    assert response["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in body(response).splitlines()]
    assert len(lines) == 5
    record = next(r for r in lines if r["item_id"] == item.id)
    assert [t["content"] for t in record["context"]["turns"]] == ["question 1", "answer 1"]
    assert record["context"]["turn_id"] == turn.id
    (given_review,) = record["reviews"]
    assert given_review["reviewer"] == "ann"
    assert given_review["scores"] == {"helpful": "no", "safe": True}
    assert given_review["correction"] == "the right answer"
    csv_text = body(client.get(queue_url(queue) + "?format=csv"))
    header, *rows = csv_text.splitlines()
    assert header == (
        "item_id,target_kind,target_id,reviewer,created_at,score:helpful,score:safe,"
        "comment,correction"
    )
    assert f"{item.id},turn,{turn.id},ann,{TEST_NOW},no,True,'=cmd(),the right answer" in rows
    assert len(rows) == 5  # four sessions nobody reviewed, a row each


@pytest.mark.parametrize(
    "query", ["?after=%00", "?after=WyJ4Il0=", "?after=x&format=json", "?format=jsonl%00"]
)
def test_any_query_string_on_the_queue_pages_is_answered(reviewer_client, queue, query):
    assert reviewer_client.get(queue_url(queue) + query).status_code == 200
    assert reviewer_client.get(item_url(queue.items.first()) + query).status_code == 200


def test_the_queues_are_in_the_navigation_and_list_their_progress(reviewer_client, queue):
    page = body(reviewer_client.get(reverse("memory_app:review_queues")))
    assert f'href="{reverse("memory_app:review_queues")}"' in page
    assert f'href="{queue_url(queue)}">answers</a>' in page
    assert "0 of 4" in page


def test_items_page_and_export_in_batches_losing_none(client, review_admin, queue, monkeypatch):
    monkeypatch.setattr("memory_app.review.queue_pages.ITEM_PAGE_SIZE", 3)
    monkeypatch.setattr("memory_app.review.queue_export.BATCH", 3)
    client.force_login(review_admin)
    first = body(client.get(queue_url(queue)))
    link = re.search(r'href="(\?after=[^"]+)">More items', first).group(1)
    second = body(client.get(queue_url(queue) + link.replace("&amp;", "&")))
    items = list(queue.items.in_order())
    assert [item_url(i) in first for i in items] == [True, True, True, False]
    assert [item_url(i) in second for i in items] == [False, False, False, True]
    exported = body(client.get(queue_url(queue) + "?format=jsonl")).splitlines()
    assert [json.loads(line)["item_id"] for line in exported] == [i.pk for i in items]
