"""Annotating a turn, a session or a workflow run from where it is read: the form built from
the score configs, HTMX in place and plain posts, edits that supersede with their history,
refusals beside the field that write nothing, the session list's counts, filters and facets
by score, roles, and bounded queries."""

import re

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from memory_app.review.models import Annotation, AnnotationScore
from memory_app.runtime.models import Turn
from tests.helpers import body, count_queries

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def configs(store):
    """A categorical, a numeric and a boolean score config, each described."""
    return {
        "quality": store.create_score_config(
            "quality", "categorical", created_by="rhea", categories=["good", "bad"],
            description="Was the answer right and useful?",
        ),
        "helpfulness": store.create_score_config(
            "helpfulness", "numeric", created_by="rhea", min_value=1, max_value=5,
            description="1 (no help) to 5",
        ),
        "polite": store.create_score_config("polite", "boolean", created_by="rhea"),
    }  # fmt: skip


def _field(configs, name: str) -> str:
    """A config's field name in the form: its place in the configs offered, by name."""
    return f"score_{sorted(configs).index(name)}"


def _turn(session, index: int = 2) -> Turn:
    return Turn.objects.get(session=session, turn_index=index)


def turn_url(turn) -> str:
    return reverse("memory_app:turn_annotations", args=[turn.pk])


def session_page(session) -> str:
    return reverse("memory_app:session", args=[session.pk])


def written() -> tuple[int, int]:
    return Annotation.objects.count(), AnnotationScore.objects.count()


def test_the_form_offers_each_config_as_its_kind_with_its_description(
    reviewer_client, session_with_turns, configs
):
    html = body(reviewer_client.get(turn_url(_turn(session_with_turns)), **HTMX))
    assert 'type="radio" name="score_2" value="good"' in html  # categorical: radios
    assert re.search(r'type="number" name="score_0"[^>]*step="any"[^>]*min="1"[^>]*max="5"', html)
    assert 'name="score_1" value="true"' in html
    assert 'name="score_1" value="false"' in html
    assert "Was the answer right and useful?" in html
    assert "1 (no help) to 5" in html
    assert 'name="correction"' in html  # a turn takes a correction
    assert 'name="author"' not in html
    session_form = body(
        reviewer_client.get(
            reverse("memory_app:session_annotations", args=[session_with_turns.pk]), **HTMX
        )
    )
    assert 'name="correction"' not in session_form  # only a turn does


def test_a_reviewer_annotates_a_turn_without_scripts_and_sees_it_on_the_transcript(
    reviewer_client, reviewer, session_with_turns, configs
):
    turn = _turn(session_with_turns)
    response = reviewer_client.post(
        turn_url(turn),
        {
            _field(configs, "quality"): "bad",
            _field(configs, "helpfulness"): "2",
            _field(configs, "polite"): "true",
            "comment": "Too curt <b>here</b>",
            "correction": "Hello! How can I help?",
            "author": "someone-else",  # ignored: the author is the signed-in user
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{session_page(session_with_turns)}?from=2#turn-2"
    annotation = Annotation.objects.get()
    assert (annotation.author, annotation.target_kind, annotation.target_id) == (
        reviewer.username, "turn", turn.pk,
    )  # fmt: skip
    assert annotation.correction == "Hello! How can I help?"
    scores = {s.score_config.name: s.value for s in annotation.scores.all()}
    assert scores == {"quality": "bad", "helpfulness": 2.0, "polite": True}
    page = body(reviewer_client.get(session_page(session_with_turns)))
    turn_block = page.split('id="notes-turn-2"')[1].split("</li>")[0]
    assert "Too curt &lt;b&gt;here&lt;/b&gt;" in turn_block  # escaped
    assert "quality: bad" in turn_block
    assert "helpfulness: 2" in turn_block
    assert "polite: yes" in turn_block
    assert "Hello! How can I help?" in turn_block
    assert "rita-reviewer" in turn_block


def test_an_htmx_post_answers_with_the_panel_and_an_edit_supersedes_with_history(
    reviewer_client, reviewer, session_with_turns, configs
):
    url = turn_url(_turn(session_with_turns))
    first = reviewer_client.post(
        url, {_field(configs, "quality"): "bad", "comment": "wrong"}, **HTMX
    )
    assert first.status_code == 200
    panel = body(first)
    assert panel.startswith('\n<section class="annotations" id="notes-turn-2"')
    assert "Recorded." in panel
    assert "Edit your annotation" in panel
    old = Annotation.objects.get()
    # The form comes prefilled from your current annotation, and names it.
    assert f'name="supersedes" value="{old.pk}"' in panel
    assert re.search(r'value="bad"[^>]*checked', panel)
    assert ">\nwrong</textarea>" in panel
    edit = {_field(configs, "quality"): "good", "comment": "right after all", "supersedes": old.pk}
    assert reviewer_client.post(url, edit, **HTMX).status_code == 200
    new = Annotation.objects.current().get()
    assert new.supersedes_id == old.pk
    assert Annotation.objects.count() == 2
    transcript = body(reviewer_client.get(session_page(session_with_turns)))
    assert "right after all" in transcript
    assert ">wrong<" not in transcript
    history_url = reverse("memory_app:annotation_history", args=[new.pk])
    assert history_url in transcript
    history = body(reviewer_client.get(history_url))
    assert "score quality: <del>bad</del> → <ins>good</ins>" in history
    assert "comment: <del>wrong</del> → <ins>right after all</ins>" in history
    assert history.count("rita-reviewer") >= 2
    assert "The first version." in history


@pytest.mark.parametrize(
    ("post", "said"),
    [
        ({"helpfulness": "9"}, "score &#x27;helpfulness&#x27; takes a finite number from 1 to 5"),
        ({"helpfulness": "nan"}, "Enter a number."),
        ({"quality": "meh"}, "Select a valid choice."),
        ({"comment": "   "}, "an annotation needs a score, a comment or a correction"),
        ({"comment": "x", "supersedes": "not-an-annotation"}, "not-an-annotation"),
    ],
)
def test_a_refusal_says_why_beside_the_field_and_writes_nothing(
    reviewer_client, session_with_turns, configs, post, said
):
    data = {(_field(configs, k) if k in configs else k): v for k, v in post.items()}
    before = written()
    response = reviewer_client.post(turn_url(_turn(session_with_turns)), data)
    assert response.status_code == 422
    html = body(response)
    assert said in html
    assert 'class="errors" role="alert"' in html
    assert written() == before
    htmx = reviewer_client.post(turn_url(_turn(session_with_turns)), data, **HTMX)
    assert htmx.status_code == 200
    assert said in body(htmx)  # shown in place (htmx swaps 2xx)
    assert written() == before


def test_no_one_supersedes_another_s_annotation(
    reviewer_client, ops, session_with_turns, configs, store
):
    turn = _turn(session_with_turns)
    theirs = store.annotate("turn", turn.pk, author=ops.username, comment="mine")
    before = written()
    response = reviewer_client.post(turn_url(turn), {"comment": "x", "supersedes": theirs.pk})
    assert response.status_code == 422
    assert written() == before


def test_a_session_and_a_run_are_annotated_where_they_are_read(
    reviewer_client, session_with_turns, configs, store
):
    session_url = reverse("memory_app:session_annotations", args=[session_with_turns.pk])
    response = reviewer_client.post(session_url, {"comment": "A good session overall"})
    assert response["Location"] == session_page(session_with_turns) + "#notes-session"
    page = body(reviewer_client.get(session_page(session_with_turns)))
    assert "A good session overall" in page.split('id="notes-session"')[1].split("</div>")[0]
    run = store.start_workflow_run("digest", trigger_source="cron", initiated_by="scheduler")
    run_url = reverse("memory_app:run_annotations", args=[run.pk])
    assert reviewer_client.post(run_url, {_field(configs, "polite"): "false"}).status_code == 302
    page = body(reviewer_client.get(reverse("memory_app:workflow", args=[run.pk])))
    assert "polite: no" in page.split('id="notes-run"')[1]


def test_annotations_live_on_their_own_pages_without_scripts(
    reviewer_client, session_with_turns, configs
):
    turn = _turn(session_with_turns)
    transcript = body(reviewer_client.get(session_page(session_with_turns)))
    assert f'href="{turn_url(turn)}" hx-get="{turn_url(turn)}"' in transcript
    page = reviewer_client.get(turn_url(turn))
    assert page.status_code == 200
    html = body(page)
    assert "<html" in html
    assert f'action="{turn_url(turn)}"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_outsiders_and_anonymous_people_may_neither_read_nor_annotate(
    client, outsider_client, session_with_turns, configs, store
):
    turn = _turn(session_with_turns)
    note = store.annotate("turn", turn.pk, author="rita", comment="c")
    run = store.start_workflow_run("digest", trigger_source="cron", initiated_by="s")
    urls = [
        turn_url(turn),
        reverse("memory_app:session_annotations", args=[session_with_turns.pk]),
        reverse("memory_app:run_annotations", args=[run.pk]),
        reverse("memory_app:annotation_history", args=[note.pk]),
    ]
    before = written()
    for url in urls:
        assert outsider_client.get(url).status_code == 403
        assert outsider_client.post(url, {"comment": "let me"}).status_code in (403, 405)
    outsider_client.logout()
    for url in urls:
        response = client.post(url, {"comment": "let me"})
        assert response.status_code in (302, 405)
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/")
    assert written() == before


def test_unknown_targets_are_404(reviewer_client, configs):
    for name in ("turn_annotations", "session_annotations", "run_annotations"):
        url = reverse(f"memory_app:{name}", args=["nope"])
        assert reviewer_client.get(url).status_code == 404
        assert reviewer_client.post(url, {"comment": "x"}).status_code == 404
    history = reverse("memory_app:annotation_history", args=["nope"])
    assert reviewer_client.get(history).status_code == 404


@given(
    fields=st.dictionaries(
        st.sampled_from(
            ["score_0", "score_1", "score_2", "comment", "correction", "supersedes", "author", "x"]
        ),
        st.one_of(
            st.sampled_from(["good", "bad", "true", "false", "1", "5", "6", "-1e400", "inf"]),
            st.text(max_size=20),
        ),
        max_size=6,
    ),
    htmx=st.booleans(),
)
def test_any_annotation_post_gets_an_answer_and_a_refusal_writes_nothing(
    reviewer_client, session_with_turns, configs, fields, htmx
):
    before = written()
    headers = HTMX if htmx else {}
    response = reviewer_client.post(turn_url(_turn(session_with_turns)), fields, **headers)
    assert response.status_code in (200, 302, 422)
    refused = response.status_code == 422 or (htmx and "Recorded." not in body(response))
    if refused:
        assert written() == before
    else:
        assert written()[0] == before[0] + 1


def test_the_transcript_reads_every_turn_s_annotations_at_once(
    reviewer_client, session_with_turns, configs, store
):
    page = session_page(session_with_turns)
    store.annotate("turn", _turn(session_with_turns, 0).pk, author="rita", comment="one")
    store.annotate("session", session_with_turns.pk, author="rita", comment="one")
    few = count_queries(reviewer_client, page)
    for n in range(3):
        for author in ("rita", "oscar"):
            store.annotate(
                "turn", _turn(session_with_turns, n).pk, author=author, comment=f"c{n}",
                scores={"quality": "good", "helpfulness": 3},
            )  # fmt: skip
    store.annotate("session", session_with_turns.pk, author="rita", scores={"polite": True})
    assert count_queries(reviewer_client, page) == few


def _sessions(store, configs):
    """Three sessions: one scored good on a turn, one good on itself, one bad; and one
    unannotated."""
    made = []
    for actor, where, quality in [("tom", "turn", "good"), ("tom", "session", "good"),
                                  ("oxide", "turn", "bad"), ("oxide", None, None)]:  # fmt: skip
        session = store.start_session(actor)
        turn = store.append_turn(session.id, "user", "hi")
        if where:
            target = turn.id if where == "turn" else session.id
            store.annotate(where, target, author="rita", scores={"quality": quality})
        made.append(session)
    return made


def test_the_session_list_counts_annotations_and_filters_and_facets_by_score(
    reviewer_client, store, configs
):
    good_turn, good_session, bad, plain = _sessions(store, configs)
    store.annotate("session", bad.id, author="oscar", comment="and more")
    sessions = reverse("memory_app:sessions")
    html = body(reviewer_client.get(sessions))
    assert '<option value="quality:good">quality:good (2)</option>' in html
    assert '<option value="quality:bad">quality:bad (1)</option>' in html
    rows = {s.pk: row for s, row in zip(reviewer_client.get(sessions).context["sessions"],
                                        html.split('<tr data-row>')[1:], strict=True)}  # fmt: skip
    assert 'data-label="Annotations"><span class="badge">2</span>' in rows[bad.id]
    assert 'data-label="Annotations"><span class="muted">0</span>' in rows[plain.id]
    chosen = reviewer_client.get(sessions + "?score=quality:good")
    assert {s.pk for s in chosen.context["sessions"]} == {good_turn.id, good_session.id}
    # The counts follow the other filters.
    narrowed = body(reviewer_client.get(sessions + "?actor=oxide"))
    assert "quality:good (0)" in narrowed
    assert "quality:bad (1)" in narrowed
    # A score nobody gave is an error beside the list, never a 500.
    odd = reviewer_client.get(sessions + "?score=quality:meh")
    assert odd.status_code == 200
    assert "Score: Select a valid choice" in body(odd)


def test_the_session_list_s_queries_do_not_grow_with_annotations(reviewer_client, store, configs):
    _sessions(store, configs)
    sessions = reverse("memory_app:sessions")
    few = count_queries(reviewer_client, sessions)
    few_chosen = count_queries(reviewer_client, sessions + "?score=quality:good&actor=tom")
    for session in _sessions(store, configs) + _sessions(store, configs):
        store.annotate("session", session.id, author="oscar", scores={"helpfulness": 4})
    assert count_queries(reviewer_client, sessions) == few
    assert count_queries(reviewer_client, sessions + "?score=quality:good&actor=tom") == few_chosen
