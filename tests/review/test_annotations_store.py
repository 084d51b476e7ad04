"""Annotations through the store (issue #23): score configs, annotations with their scores,
edits that supersede, the runtime's reads, and refusals that write nothing; append-only on
both engines; the review-admin role."""

import math
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from memory_app import access
from memory_app.models import (
    Annotation,
    AnnotationScore,
    AppendOnlyError,
    ScoreConfig,
)
from memory_app.store import InvalidInput, NotFound, StoreError

pytestmark = pytest.mark.django_db


@pytest.fixture
def configs(store):
    """One score config of each kind."""
    return {
        "helpful": store.create_score_config(
            "helpful", "categorical", created_by="rhea", categories=["yes", "partly", "no"]
        ),
        "accuracy": store.create_score_config(
            "accuracy", "numeric", created_by="rhea", min_value=0, max_value=5
        ),
        "safe": store.create_score_config("safe", "boolean", created_by="rhea"),
    }


@pytest.fixture
def world(store, session_with_turns):
    """A session with three turns, another session with one, and a workflow run."""
    other = store.start_session("tom")
    run = store.start_workflow_run("nightly", trigger_source="cron", initiated_by="tom")
    return {
        "session": session_with_turns,
        "turns": list(session_with_turns.turns.order_by("turn_index")),
        "other_turn": store.append_turn(other.id, "user", "elsewhere"),
        "run": run,
    }


def written() -> tuple[int, int, int]:
    return (
        ScoreConfig.objects.count(),
        Annotation.objects.count(),
        AnnotationScore.objects.count(),
    )


# --- writing -----------------------------------------------------------------------------


def test_an_annotation_is_written_with_its_scores_and_read_back_as_given(
    store, configs, world, clock
):
    clock.set("2026-03-01T10:00:00Z", ticking=False)
    turn = world["turns"][2]
    note = store.annotate(
        "turn",
        turn.id,
        author="rita",
        scores={"helpful": "partly", "accuracy": 3.5, "safe": False},
        comment="too short",
        correction="Hello! How can I help?",
    )
    assert (note.target_kind, note.target_id, note.author) == ("turn", turn.id, "rita")
    assert note.created_at == "2026-03-01T10:00:00.000Z"
    stored = {s.score_config.name: (s.value_text, s.value_number) for s in note.scores.all()}
    assert stored == {
        "helpful": ("partly", None),
        "accuracy": (None, 3.5),
        "safe": ("false", 0.0),
    }
    [read] = store.annotations_for_session(world["session"].id)
    assert read.annotation == note
    assert read.scores == {"accuracy": 3.5, "helpful": "partly", "safe": False}
    assert read.annotation.correction == "Hello! How can I help?"


def test_a_session_and_a_workflow_run_are_annotated_too(store, configs, world):
    on_session = store.annotate(
        "session", world["session"].id, author="rita", scores={"safe": True}
    )
    on_run = store.annotate("workflow_run", world["run"].id, author="rita", comment="slow")
    assert on_session.scores.get().value is True
    assert on_run.comment == "slow"
    assert Annotation.objects.on("workflow_run", world["run"].id).get() == on_run


def test_a_score_config_s_values_are_checked_and_refusals_name_the_allowed_ones(
    store, configs, world
):
    turn = world["turns"][0].id
    refused = {
        "helpful": ["maybe", "", 1, None, True],
        "accuracy": [5.01, -1, math.nan, math.inf, "3", True, None, 10**400],
        "safe": ["true", 1, 0, None],
    }
    before = written()
    for name, values in refused.items():
        for value in values:
            with pytest.raises(InvalidInput, match=f"score '{name}' takes") as error:
                store.annotate("turn", turn, author="rita", scores={name: value})
            assert configs[name].allowed() in str(error.value)
    assert written() == before
    assert configs["helpful"].allowed() == 'one of "yes", "partly", "no"'
    assert configs["accuracy"].allowed() == "a finite number from 0 to 5"
    # The bounds themselves are within the range.
    for value in (0, 5, 5.0):
        store.annotate("turn", turn, author="rita", scores={"accuracy": value})


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (dict(target_kind="turn", target_id="nope"), NotFound, "no conversation_turns row"),
        (dict(target_kind="message"), InvalidInput, "target_kind must be one of"),
        (dict(scores={"unknown": 1}), NotFound, "no score config named 'unknown'"),
        (dict(scores=["helpful"]), InvalidInput, "scores must map"),
        (dict(scores={}, comment=" \u200b\t"), InvalidInput, "needs a score, a comment"),
        (dict(scores=None, comment=""), InvalidInput, "needs a score, a comment"),
        (dict(target_kind="session", correction="x"), InvalidInput, "only a turn takes"),
        (dict(correction="\u200b"), InvalidInput, "correction must say something"),
        (dict(author=" "), InvalidInput, "author must be a non-empty text"),
        (dict(author="\u200b"), InvalidInput, "author must name a person"),
        (dict(comment="a\x00b"), InvalidInput, "cannot hold the NUL character"),
        (dict(comment=7), InvalidInput, "comment must be a text"),
        (dict(queue_item_id=""), InvalidInput, "queue_item_id must be a non-empty text"),
        (dict(created_at="yesterday"), InvalidInput, "created_at must be an ISO-8601"),
        (dict(supersedes="missing"), NotFound, "no tommemory_annotations row"),
    ],
)
def test_a_refused_annotation_writes_nothing(store, configs, world, call, error, message):
    args = {
        "target_kind": "turn",
        "target_id": world["turns"][0].id,
        "author": "rita",
        "scores": {"helpful": "yes"},
    }
    if call.get("target_kind") == "session":
        args["target_id"] = world["session"].id
    args |= call
    before = written()
    with pytest.raises(error, match=message):
        store.annotate(args.pop("target_kind"), args.pop("target_id"), **args)
    assert written() == before


def test_an_archived_config_takes_no_new_scores(store, configs, world):
    ScoreConfig.objects.filter(name="safe").update(archived_at="2026-01-01T00:00:00.000Z")
    with pytest.raises(InvalidInput, match="score config 'safe' is archived"):
        store.annotate("session", world["session"].id, author="rita", scores={"safe": True})
    assert list(ScoreConfig.objects.offered()) == [configs["accuracy"], configs["helpful"]]


# --- edits: an annotation that supersedes another -----------------------------------------


def test_an_edit_supersedes_its_author_s_annotation_once_and_history_stays(store, configs, world):
    turn = world["turns"][1].id
    first = store.annotate("turn", turn, author="rita", scores={"helpful": "no"}, comment="bad")
    edit = store.annotate(
        "turn", turn, author="Rita", scores={"helpful": "partly"}, supersedes=first.id
    )  # the same person (contract/people.json: case is not a difference)
    assert edit.supersedes_id == first.id
    assert list(Annotation.objects.current()) == [edit]
    assert first.superseded_by == edit
    [read] = store.annotations_for_session(world["session"].id)
    assert (read.annotation, read.scores) == (edit, {"helpful": "partly"})
    # The first version and its score are kept.
    assert first.scores.get().value_text == "no"
    refusals = [
        (dict(author="rita", supersedes=first.id), "was edited already"),
        (dict(author="oscar", supersedes=edit.id), "is 'Rita''s: only its author may edit it"),
    ]
    before = written()
    for args, message in refusals:
        with pytest.raises(InvalidInput, match=message):
            store.annotate("turn", turn, comment="again", **args)
    with pytest.raises(InvalidInput, match="an edit stays on the same target"):
        store.annotate("turn", world["turns"][0].id, author="rita", comment="x", supersedes=edit.id)
    assert written() == before


def test_the_database_refuses_a_second_edit_of_one_annotation(store, configs, world):
    """Even behind the store, an annotation is superseded once (UNIQUE supersedes_id)."""
    turn = world["turns"][1].id
    first = store.annotate("turn", turn, author="rita", comment="one")
    store.annotate("turn", turn, author="rita", comment="two", supersedes=first.id)
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.objects.create(
            target_kind="turn",
            target_id=turn,
            author="rita",
            comment="three",
            supersedes_id=first.id,
            created_at="2026-01-01T00:00:00.000Z",
        )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tommemory_annotations SET comment = 'other'",
        "DELETE FROM tommemory_annotations",
        "UPDATE tommemory_annotation_scores SET value_text = 'no'",
        "DELETE FROM tommemory_annotation_scores",
    ],
)
def test_annotations_and_scores_are_append_only_for_every_writer(store, configs, world, sql):
    note = store.annotate("session", world["session"].id, author="rita", scores={"safe": True})
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    with pytest.raises(AppendOnlyError):
        note.save()
    with pytest.raises(AppendOnlyError):
        note.scores.get().delete()
    with pytest.raises(AppendOnlyError):
        Annotation.objects.update(comment="x")


# --- reads for the runtime ----------------------------------------------------------------


def test_a_session_s_annotations_are_its_own_and_its_turns_oldest_first_in_three_queries(
    store, configs, world, clock
):
    session, turns = world["session"], world["turns"]
    times = iter(f"2026-03-0{d}T00:00:00Z" for d in range(1, 10))
    made = []
    for target_kind, target_id in [
        ("turn", turns[2].id),
        ("session", session.id),
        ("turn", turns[0].id),
    ]:
        clock.set(next(times), ticking=False)
        made.append(store.annotate(target_kind, target_id, author="rita", scores={"accuracy": 4}))
    clock.set(next(times), ticking=False)
    store.annotate("turn", world["other_turn"].id, author="rita", comment="other session")
    store.annotate("workflow_run", world["run"].id, author="rita", comment="a run")
    with CaptureQueriesContext(connection) as queries:
        read = store.annotations_for_session(session.id)
    assert [r.annotation for r in read] == made
    assert [r.scores for r in read] == [{"accuracy": 4.0}] * 3
    assert len(queries) == 3  # the session, the annotations, their scores with configs
    with pytest.raises(NotFound):
        store.annotations_for_session("no-such-session")
    with pytest.raises(NotFound):
        store.annotations_for_session("a\x00b")


def test_annotations_since_a_cursor_come_in_order_edits_included(store, configs, world, clock):
    session = world["session"].id
    clock.set("2026-03-01T00:00:00Z", ticking=False)
    a = store.annotate("session", session, author="rita", comment="a")
    b = store.annotate("session", session, author="rita", comment="b")  # same time: by id
    clock.set("2026-03-02T00:00:00Z", ticking=False)
    c = store.annotate("session", session, author="rita", comment="c", supersedes=a.id)
    first, cursor = store.annotations_since(limit=2)
    assert [r.annotation for r in first] == [a, b]
    assert cursor == b.id
    rest, cursor = store.annotations_since(after=cursor)
    assert [r.annotation for r in rest] == [c]
    assert rest[0].annotation.supersedes_id == a.id
    nothing = store.annotations_since(after=cursor)
    assert (nothing.annotations, nothing.next_cursor) == ([], c.id)
    assert store.annotations_since() == store.annotations_since(limit=1000)
    assert store.annotations_since().next_cursor == c.id
    for limit in (0, 1001, 2.5, "10", True):
        with pytest.raises(InvalidInput, match="limit must be a whole number from 1 to 1000"):
            store.annotations_since(limit=limit)
    with pytest.raises(NotFound):
        store.annotations_since(after="not-an-annotation")


def test_nothing_annotated_reads_as_nothing(store, world):
    assert store.annotations_for_session(world["session"].id) == []
    assert tuple(store.annotations_since()) == ([], None)


# --- score configs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (dict(data_type="stars"), "data_type must be one of categorical, numeric, boolean"),
        (dict(data_type="categorical"), "needs a list of categories"),
        (dict(data_type="categorical", categories=[]), "needs a list of categories"),
        (dict(data_type="categorical", categories=["a", "a"]), "must differ"),
        (dict(data_type="categorical", categories=["a", " "]), "a category must be a non-empty"),
        (dict(data_type="categorical", categories=["\u200b"]), "a category must say something"),
        (dict(data_type="categorical", categories=["a"], min_value=1), "only a numeric"),
        (dict(data_type="numeric", categories=["a"]), "only a categorical"),
        (dict(data_type="numeric", min_value=3, max_value=1), "min_value 3 is above max_value 1"),
        (dict(data_type="numeric", max_value=math.inf), "bounds are finite"),
        (dict(data_type="numeric", min_value=math.nan), "min_value must be a number"),
        (dict(data_type="boolean", max_value=1), "only a numeric"),
        (dict(data_type="boolean", name="helpful"), "a score config named 'helpful' exists"),
        (dict(data_type="boolean", name="\u200b"), "name must say something"),
        (dict(data_type="boolean", created_by=""), "created_by must be a non-empty"),
        (dict(data_type="boolean", description=None), None),
    ],
)
def test_a_refused_score_config_writes_nothing(store, configs, args, message):
    args = {"name": "new", "created_by": "rhea"} | args
    before = written()
    if message is None:  # no description is an empty one
        assert store.create_score_config(**args).description == ""
        return
    with pytest.raises(InvalidInput, match=message):
        store.create_score_config(**args)
    assert written() == before


def test_a_score_config_keeps_its_categories_as_json(store, configs, clock):
    clock.set("2026-02-02T02:02:02Z", ticking=False)
    config = store.create_score_config(
        "tone", "categorical", created_by="rhea", categories=["calme", "brusque \u00e9"]
    )
    assert config.categories_json == '["calme","brusque \u00e9"]'
    assert config.categories == ["calme", "brusque \u00e9"]
    assert config.created_at == "2026-02-02T02:02:02.000Z"
    open_range = store.create_score_config("latency", "numeric", created_by="rhea", min_value=0)
    assert open_range.allowed() == "a finite number from 0 to ∞"
    assert open_range.stored_value(1e300) == (None, 1e300)


# --- any input: written and read back as given, or refused with nothing written -----------

score_values = st.one_of(
    st.sampled_from(["yes", "partly", "no", "maybe", ""]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


@given(
    target=st.sampled_from(["turn", "session", "workflow_run", "other_turn", "nowhere"]),
    scores=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["helpful", "accuracy", "safe", "unknown", ""]),
            score_values,
            max_size=4,
        ),
    ),
    comment=st.one_of(st.text(max_size=12), st.none(), st.integers()),
    correction=st.one_of(st.none(), st.text(max_size=12)),
    author=st.sampled_from(["rita", " ", "\u200b", "oscar"]),
    edit=st.booleans(),
)
def test_any_annotation_is_written_as_given_or_refused_writing_nothing(
    store, configs, world, target, scores, comment, correction, author, edit
):
    kind, target_id = {
        "turn": ("turn", world["turns"][0].id),
        "session": ("session", world["session"].id),
        "workflow_run": ("workflow_run", world["run"].id),
        "other_turn": ("turn", world["other_turn"].id),
        "nowhere": ("turn", "nowhere"),
    }[target]
    latest = Annotation.objects.current().filter(target_kind=kind, target_id=target_id).first()
    supersedes = latest.pk if edit and latest is not None else None
    before = written()
    try:
        note = store.annotate(
            kind,
            target_id,
            author=author,
            scores=scores,
            comment=comment,
            correction=correction,
            supersedes=supersedes,
        )
    except StoreError:
        assert written() == before
        return
    assert written()[1:] == (before[1] + 1, before[2] + len(scores or {}))
    given_back = {s.score_config.name: s.value for s in note.scores.all()}
    assert given_back == (scores or {})
    assert (note.comment, note.correction, note.author) == (comment or "", correction, author)
    assert note.supersedes_id == supersedes
    read = next(r for r in store.annotations_since(limit=1000).annotations if r.annotation == note)
    assert read.scores == (scores or {})
    if kind != "workflow_run":
        session = world["session"] if target != "other_turn" else world["other_turn"].session
        current = [r.annotation for r in store.annotations_for_session(session.id)]
        assert note in current
        assert supersedes not in [a.pk for a in current]


# --- who may manage reviews ---------------------------------------------------------------


def test_review_admins_and_superusers_manage_reviews_and_read(
    review_admin, reviewer, ops, profile_admin
):
    boss = User.objects.create_superuser("boss", password="x")
    assert [access.can_manage_reviews(u) for u in (review_admin, boss)] == [True, True]
    assert not any(access.can_manage_reviews(u) for u in (reviewer, ops, profile_admin))
    assert access.can_read(review_admin)  # a review admin reads, and so annotates


def test_pages_know_who_may_manage_reviews(client, review_admin, reviewer):
    client.force_login(review_admin)
    assert client.get("/").context["may"]["manage_reviews"] is True
    client.force_login(reviewer)
    assert client.get("/").context["may"]["manage_reviews"] is False


def test_the_demo_has_a_review_admin_login(settings):
    settings.DEBUG = True
    call_command("demo_users", stdout=StringIO())
    person = User.objects.get(username="demo-review-admin")
    assert list(person.groups.values_list("name", flat=True)) == ["review-admin"]
    assert access.can_manage_reviews(person)
