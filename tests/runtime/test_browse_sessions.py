"""Session list, search, transcripts and replay exports."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from memory_app.models import NEWEST_FIRST, OLDEST_FIRST, Session, Turn
from memory_app.store import RuntimeMemoryStore
from tests.helpers import body, count_queries, full_sorts, query_plan, table_scans

pytestmark = pytest.mark.django_db

SESSIONS = reverse("memory_app:sessions")


def session_url(session_id: str, query: str = "") -> str:
    return reverse("memory_app:session", args=[session_id]) + query


def make_sessions(count: int, turns: int = 2) -> list[Session]:
    store = RuntimeMemoryStore()
    made = []
    for n in range(count):
        session = store.start_session(
            "tom" if n % 2 else "oxide",
            channel="cli" if n % 3 else "api",
            metadata={"locale": "fr-FR" if n % 4 == 0 else "en-GB", "n": n},
            started_at=f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
        )
        for t in range(turns):
            store.append_turn(session.id, "user" if t % 2 else "assistant", f"m{t}", token_count=5)
        made.append(session)
    return made


# --- list, filters, paging -------------------------------------------------------------


def test_list_shows_turn_and_token_totals(reviewer_client):
    make_sessions(1, turns=3)
    html = body(reviewer_client.get(SESSIONS))
    assert (
        '<td class="num" data-label="Turns">3</td><td class="num" data-label="Tokens">15</td>'
        in (html)
    )


def test_every_cell_of_the_list_carries_its_column_name_for_phone_cards(reviewer_client):
    make_sessions(2, turns=1)
    html = body(reviewer_client.get(SESSIONS))
    labels = ["Session", "Actor", "Channel", "Status", "Started", "Duration", "Turns", "Tokens"]
    labels.append("Annotations")
    for label in labels:
        assert html.count(f'data-label="{label}"') == 2, label
    assert html.count("<td") == 2 * len(labels)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?actor=tom", 5),
        ("?channel=api", 4),
        ("?status=active", 10),
        ("?status=ended", 0),
        ("?meta_key=locale&meta_value=fr-FR", 3),
        ("?meta_key=n", 10),
        ("?started_from=2026-11-05&started_to=2026-11-08T23:59Z", 4),
        ("?started_from=2026-11-05T01:00:00%2B01:00&started_to=2026-11-05T05:00%2B01:00", 1),
    ],
)
def test_list_filters(reviewer_client, query, expected):
    make_sessions(10, turns=0)
    html = body(reviewer_client.get(SESSIONS + query))
    assert html.count("<tr data-row>") == expected


def test_metadata_filter_survives_rows_with_broken_json(reviewer_client):
    make_sessions(2, turns=0)
    Session.objects.create(actor="x", started_at="2026-11-01", metadata_json="{oops")
    html = body(reviewer_client.get(SESSIONS + "?meta_key=locale"))
    assert html.count("<tr data-row>") == 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?started_from=someday", "Enter an ISO-8601 date or time"),
        ("?started_from=2026-11-09&started_to=2026-11-01", "before its start"),
        ("?after=garbage", "This page link is damaged"),
        ('?meta_key=a"b', "cannot contain"),
    ],
)
def test_bad_filters_get_a_clear_message_not_an_error(reviewer_client, query, message):
    make_sessions(3, turns=0)
    response = reviewer_client.get(SESSIONS + query)
    assert response.status_code == 200
    assert message in body(response)


def test_keyset_pages_cover_every_session_once(reviewer_client):
    made = make_sessions(120, turns=0)
    seen, url = [], SESSIONS
    while url:
        response = reviewer_client.get(url)
        rows = response.context["sessions"]
        seen.extend(s.pk for s in rows)
        cursor = response.context.get("next_cursor")
        url = SESSIONS + f"?after={cursor[1]}" if cursor else None
    assert len(seen) == len(set(seen)) == 120
    assert set(seen) == {s.pk for s in made}


def test_list_query_count_does_not_grow_with_rows(reviewer_client):
    make_sessions(3, turns=2)
    few = count_queries(reviewer_client, SESSIONS)
    make_sessions(60, turns=5)
    assert count_queries(reviewer_client, SESSIONS) == few
    # A search page: its matching turns, then their count, in one query each.
    assert count_queries(reviewer_client, SESSIONS + "?q=m1") <= few + 1


def test_search_lists_matching_turns_newest_first_under_their_session(reviewer_client, store):
    chatty, quiet = store.start_session("tom"), store.start_session("oxide")
    for n in range(3):
        store.append_turn(chatty.id, "user", f"deploy question {n}")
    store.append_turn(quiet.id, "user", "one deploy here")
    response = reviewer_client.get(SESSIONS, {"q": "deploy"})
    matches = response.context["matches"]
    assert [(t.session_id, t.turn_index) for t in matches] == [
        (quiet.id, 0), (chatty.id, 2), (chatty.id, 1), (chatty.id, 0)
    ]  # fmt: skip
    html = body(response)
    assert "4 turns match, the newest first, under their sessions." in html
    # One heading per session, named by its title (the start of its first user turn).
    assert html.count(f'href="/sessions/{chatty.id}/"') == 1  # one heading, three turns
    assert f'<a href="/sessions/{chatty.id}/">deploy question 0</a></h3>' in html
    assert f'<a href="/sessions/{quiet.id}/">one deploy here</a></h3>' in html
    assert f'href="/sessions/{chatty.id}/?from=2#turn-2"' in html


def test_a_hit_in_a_session_without_a_user_turn_stands_under_its_actor_and_id(
    reviewer_client, store
):
    session = store.start_session("oxide")
    store.append_turn(session.id, "assistant", "a deploy answer")
    html = body(reviewer_client.get(SESSIONS, {"q": "deploy"}))
    assert f"oxide session <code>{session.id[:23]}" in html


def test_a_search_without_a_match_says_so_in_words(reviewer_client, store):
    store.append_turn(store.start_session("tom").id, "user", "hello")
    html = body(reviewer_client.get(SESSIONS, {"q": "zebra"}))
    assert "No turn matches “zebra”." in html
    assert "0 turns match" not in html


def test_search_pages_matches_by_a_cursor_without_repeats(reviewer_client, store, monkeypatch):
    monkeypatch.setattr("memory_app.runtime.session_pages.PAGE_SIZE", 4)
    session = store.start_session("tom")
    made = [store.append_turn(session.id, "user", f"needle {n}").turn_index for n in range(10)]
    seen, url = [], SESSIONS + "?q=needle"
    while url:
        response = reviewer_client.get(url)
        seen.extend(t.turn_index for t in response.context["matches"])
        cursor = response.context.get("next_cursor")
        url = SESSIONS + f"?q=needle&match_after={cursor[1]}" if cursor else None
    assert seen == made[::-1]


def test_search_counts_matches_up_to_a_ceiling(reviewer_client, store, monkeypatch):
    monkeypatch.setattr("memory_app.runtime.session_pages.MATCH_COUNT_CEILING", 5)
    session = store.start_session("tom")
    for n in range(6):
        store.append_turn(session.id, "user", f"needle {n} haystack" if n < 5 else "needle")
    assert "5 turns match" in body(reviewer_client.get(SESSIONS, {"q": "haystack"}))
    assert "More than 5 turns match" in body(reviewer_client.get(SESSIONS, {"q": "needle"}))
    # Under a filter too: the filter sees every match, the count still stops at the ceiling.
    response = reviewer_client.get(SESSIONS, {"q": "needle", "actor": "tom"})
    assert "More than 5 turns match" in body(response)
    assert len(response.context["matches"]) == 6


def test_a_search_page_reads_only_its_rows_from_the_indexes(reviewer_client, store):
    session = store.start_session("tom")
    for n in range(5):
        store.append_turn(session.id, "user", f"needle {n}")
    with CaptureQueriesContext(connection) as captured:
        reviewer_client.get(SESSIONS, {"q": "needle"})
    searches = [
        q["sql"]
        for q in captured.captured_queries
        if "conversation_turns" in q["sql"] and "tommemory_annotation" not in q["sql"]
    ]
    # The page's rows, their sessions' titles, and the count (the score facet aside).
    assert len(searches) == 3
    if connection.vendor == "sqlite":
        # Each index hands over its newest rows only: 51 for the page, 1,001 for the count.
        assert "ORDER BY rowid DESC LIMIT coalesce(51, -1)" in searches[0], searches[0]
        assert "LIMIT coalesce(1001, -1)" in searches[2], searches[2]


def test_list_query_count_has_a_ceiling(reviewer_client, django_assert_max_num_queries):
    make_sessions(30, turns=4)
    # Five for the page, the table's change token, one GROUP BY for each of the three facets,
    # the score facet's and the page's annotation counts (tests/review).
    with django_assert_max_num_queries(11):
        reviewer_client.get(SESSIONS)
    # Counted once until a writer changes the sessions: the facets come from the cache.
    assert count_queries(reviewer_client, SESSIONS) == 8


def test_fixed_vocabulary_filters_are_selects_with_counts(reviewer_client, store):
    for actor, channel in [("tom", "cli"), ("tom", "api"), ("oxide", "cli"), ("Odd <b>", "fax")]:
        store.start_session(actor, channel=channel)
    html = body(reviewer_client.get(SESSIONS + "?channel=cli"))
    # Counts under the other filters: actors among cli sessions, channels among all.
    assert '<option value="tom">tom (1)</option>' in html
    assert '<option value="oxide">oxide (1)</option>' in html
    assert '<option value="cli" selected>cli (2)</option>' in html
    assert '<option value="fax">fax (1)</option>' in html  # stored by another writer
    assert '<option value="sdk">sdk (0)</option>' in html  # the contract's vocabulary
    assert "Odd &lt;b&gt; (0)" in html


def test_free_text_filters_match_case_insensitively(reviewer_client, store):
    store.start_workflow_run("w", trigger_source="cron", initiated_by="Scheduler-7")
    html = body(reviewer_client.get(reverse("memory_app:workflows") + "?initiated_by=SCHEDULER"))
    assert html.count("<tr data-row") == 1


def test_htmx_filter_returns_only_the_results_fragment(reviewer_client):
    make_sessions(2, turns=0)
    html = body(reviewer_client.get(SESSIONS + "?actor=tom", HTTP_HX_REQUEST="true"))
    assert html.lstrip().startswith('<section id="results">')
    assert "<html" not in html
    assert 'hx-push-url="true"' in body(reviewer_client.get(SESSIONS))


def test_list_exports_its_filter_as_csv_and_json(reviewer_client):
    make_sessions(4, turns=1)
    Session.objects.create(actor="=cmd|calc", started_at="2026-11-03")
    csv_text = body(reviewer_client.get(SESSIONS + "?format=csv&actor=tom"))
    assert csv_text.splitlines()[0].startswith("id,title,actor,channel")
    assert len(csv_text.strip().splitlines()) == 3
    evil = body(reviewer_client.get(SESSIONS + "?format=csv&actor=%3Dcmd%7Ccalc"))
    assert ",'=cmd|calc," in evil
    response = reviewer_client.get(SESSIONS + "?format=json&channel=api")
    assert response["Content-Type"] == "application/json"
    rows = json.loads(body(response))
    assert {r["channel"] for r in rows} == {"api"}
    assert all(r["turns"] == 1 for r in rows)


# --- search ----------------------------------------------------------------------------


@pytest.fixture
def multilingual(store):
    session = store.start_session("tom", session_id="multi")
    for text in [
        "Résumé des décisions de la semaine",
        "Покажи последние ошибки в рабочих процессах",
        "昨日のワークフローの失敗をまとめてください",
        "任务失败了",
        "plain english with <b>tags</b>",
    ]:
        store.append_turn(session.id, "user", text)
    return session


@pytest.mark.parametrize(
    ("query", "turn_index", "marked"),
    [
        ("décisions", 0, "décisions"),
        ("RÉSUMÉ", 0, "Résumé"),
        ("ошибки", 1, "ошибки"),
        ("ワークフロー", 2, "ワークフロー"),
        ("失败", 3, "失败"),
        ("tags", 4, "tags"),
    ],
)
def test_search_finds_non_english_text_and_highlights_it(
    reviewer_client, multilingual, query, turn_index, marked
):
    response = reviewer_client.get(SESSIONS, {"q": query})
    html = body(response)
    assert [t.turn_index for t in response.context["matches"]] == [turn_index]
    assert f"<mark>{marked}</mark>" in html
    assert f'href="/sessions/multi/?from={turn_index}#turn-{turn_index}"' in html


def test_search_escapes_html_in_snippets(reviewer_client, multilingual):
    html = body(reviewer_client.get(SESSIONS, {"q": "english"}))
    assert "&lt;b&gt;tags&lt;/b&gt;" in html
    assert "<b>tags</b>" not in html


def test_search_tolerates_fts_syntax_in_the_query(reviewer_client, multilingual):
    for query in ['"', "AND OR NOT", "a*b(", "NEAR(x y)"]:
        assert reviewer_client.get(SESSIONS, {"q": query}).status_code == 200


def test_search_combines_with_session_filters(reviewer_client, multilingual, store):
    other = store.start_session("oxide")
    store.append_turn(other.id, "user", "Résumé from oxide")
    response = reviewer_client.get(SESSIONS, {"q": "Résumé", "actor": "oxide"})
    assert [t.session_id for t in response.context["matches"]] == [other.id]


def test_search_uses_the_fts_index(multilingual):
    with CaptureQueriesContext(connection) as captured:
        list(Turn.objects.search("ошибки")[:10])
    plan = query_plan(captured.captured_queries[0]["sql"])
    # SQLite: the FTS5 tables; PostgreSQL: the trigram GIN index named the same.
    index = "turn_search" if connection.vendor == "postgresql" else "VIRTUAL TABLE INDEX"
    assert any(index in step for step in plan), plan
    assert not [s for s in table_scans(plan) if "conversation_turns" in s], plan


# --- transcripts -----------------------------------------------------------------------


@pytest.fixture
def transcript(store):
    session = store.start_session("tom", session_id="chat/1 %ü")
    store.append_turn(session.id, "system", "be careful")
    store.append_turn(session.id, "user", "hello <i>there</i>", token_count=4)
    store.append_turn(session.id, "tool", '{"tool":"search","rows":[1,2]}', metadata={"ms": 12})
    store.append_turn(session.id, "assistant", "done", created_at="2026-11-24T20:13:04.123Z")
    return session


def test_transcript_shows_turns_in_order_with_roles_tokens_and_times(reviewer_client, transcript):
    response = reviewer_client.get(session_url(transcript.id))
    html = body(response)
    assert [t.turn_index for t in response.context["turns"]] == [0, 1, 2, 3]
    for role in ("system", "user", "tool", "assistant"):
        assert f"turn role-{role}" in html
    assert "4 tokens" in html
    assert '<time datetime="2026-11-24T20:13:04.123Z" title="2026-11-24 20:13:04 UTC">' in html
    assert "hello &lt;i&gt;there&lt;/i&gt;" in html
    assert "&quot;tool&quot;: &quot;search&quot;" in html  # pretty-printed tool JSON
    assert "<summary>metadata" in html


def test_transcript_conversation_only_hides_system_and_tool_turns(reviewer_client, transcript):
    response = reviewer_client.get(session_url(transcript.id, "?view=conversation"))
    assert [t.role for t in response.context["turns"]] == ["user", "assistant"]


def test_transcript_opens_at_a_given_turn(reviewer_client, transcript):
    response = reviewer_client.get(session_url(transcript.id, "?from=2"))
    assert [t.turn_index for t in response.context["turns"]] == [2, 3]
    assert reviewer_client.get(session_url(transcript.id, "?from=x")).status_code == 200


def test_long_transcript_loads_further_pages_when_revealed(reviewer_client, store):
    session = store.start_session("tom")
    store.end_session(session.id)
    RuntimeMemoryStore.bulk_insert(
        Turn,
        [(f"t{n}", session.id, n, "user", f"turn {n}", 1, "2026-11-24", "{}") for n in range(250)],
    )
    html = body(reviewer_client.get(session_url(session.id)))
    assert html.count('class="turn role-user"') == 100
    assert 'hx-get="?from=100" hx-trigger="revealed"' in html
    fragment = body(
        reviewer_client.get(session_url(session.id, "?from=200"), HTTP_HX_REQUEST="true")
    )
    assert fragment.count('class="turn role-user"') == 50
    assert "End of transcript" in fragment
    assert "<html" not in fragment


def test_transcript_query_count_is_constant(reviewer_client, store):
    small = store.start_session("tom")
    store.append_turn(small.id, "user", "hi")
    big = store.start_session("tom")
    RuntimeMemoryStore.bulk_insert(
        Turn, [(f"b{n}", big.id, n, "user", "x", 1, "2026-11-24", "{}") for n in range(300)]
    )
    assert count_queries(reviewer_client, session_url(small.id)) == count_queries(
        reviewer_client, session_url(big.id)
    )


def test_active_session_tails_new_turns_and_stops_when_it_ends(reviewer_client, store):
    session = store.start_session("tom")
    store.append_turn(session.id, "user", "first")
    html = body(reviewer_client.get(session_url(session.id)))
    assert 'hx-get="?from=1" hx-trigger="every 2s"' in html
    store.append_turn(session.id, "assistant", "second")
    poll = body(reviewer_client.get(session_url(session.id, "?from=1"), HTTP_HX_REQUEST="true"))
    assert "second" in poll
    assert 'hx-get="?from=2" hx-trigger="every 2s"' in poll
    store.end_session(session.id)
    last = body(reviewer_client.get(session_url(session.id, "?from=2"), HTTP_HX_REQUEST="true"))
    assert "every 2s" not in last
    assert "End of transcript" in last


def test_huge_turn_is_previewed_with_show_all(reviewer_client, store):
    session = store.start_session("tom")
    store.append_turn(session.id, "assistant", "é" * 1_000_000)
    response = reviewer_client.get(session_url(session.id))
    html = body(response)
    assert response.status_code == 200
    assert len(html) < 100_000
    assert "show all (1000000 characters)" in html
    full = reviewer_client.get(session_url(session.id, "?turn=0"), HTTP_HX_REQUEST="true")
    assert body(full).count("é") == 1_000_000
    assert reviewer_client.get(session_url(session.id, "?turn=9")).status_code == 404
    assert reviewer_client.get(session_url(session.id, "?turn=x")).status_code == 404


def test_session_replay_exports_as_json_and_markdown(reviewer_client, transcript):
    response = reviewer_client.get(session_url(transcript.id, "?format=json"))
    assert response["Content-Disposition"].startswith('attachment; filename="session-chat_1__')
    replay = json.loads(body(response))
    assert replay["session"]["id"] == "chat/1 %ü"
    assert [t["turn_index"] for t in replay["turns"]] == [0, 1, 2, 3]
    markdown = body(reviewer_client.get(session_url(transcript.id, "?format=md")))
    assert markdown.startswith("# Session chat/1 %ü")
    assert "## 1 · user" in markdown
    assert "hello <i>there</i>" in markdown


def test_unknown_session_is_404(reviewer_client):
    assert reviewer_client.get(session_url("nope")).status_code == 404


def test_started_range_compares_instants_across_writers(reviewer_client):
    for started in ["2026-11-05 03:00:00", "2026-11-05T05:30:00+02:00", "garbage", "2026-11-06"]:
        Session.objects.create(actor="other-writer", started_at=started)
    html = body(reviewer_client.get(SESSIONS + "?started_from=2026-11-05T02:00Z&started_to=04:00"))
    assert "Enter an ISO-8601" in html  # a bare time is not a date
    html = body(
        reviewer_client.get(
            SESSIONS + "?started_from=2026-11-05T02:00Z&started_to=2026-11-05T04:00Z"
        )
    )
    assert html.count("<tr data-row>") == 2


def test_sessions_are_listed_by_title_with_duration(reviewer_client, store):
    session = store.start_session("tom", started_at="2026-11-24T10:00:00Z")
    store.append_turn(session.id, "system", "be brief")
    store.append_turn(session.id, "user", "Wie spät ist es in Tokio? " + "x" * 10_000)
    store.append_turn(session.id, "user", "a later question")
    store.end_session(session.id, ended_at="2026-11-24T10:03:05Z")
    html = body(reviewer_client.get(reverse("memory_app:sessions")))
    assert "Wie spät ist es in Tokio?" in html
    assert "a later question" not in html
    assert "3m 05s" in html


@pytest.mark.parametrize(
    ("query", "content", "marked"),
    [
        ("resume", "Mon Résumé est prêt", "<mark>Résumé</mark>"),
        ("cafe", "Ein Café in Köln", "<mark>Café</mark>"),
        ("KOLN", "Ein Café in Köln", "<mark>Köln</mark>"),
        ("ecole", "L'ÉCOLE est fermée", "<mark>ÉCOLE</mark>"),
    ],
)
def test_search_folds_accents_and_case_for_rows_any_writer_adds(
    reviewer_client, session_with_turns, query, content, marked
):
    # Written by another writer through raw SQL: the triggers index it like any turn.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO conversation_turns (id, session_id, turn_index, role, content, created_at)"
            " VALUES ('raw-1', %s, 99, 'user', %s, '2026-11-24T10:00:00Z')",
            [session_with_turns.pk, content],
        )
    html = body(reviewer_client.get(reverse("memory_app:sessions") + f"?q={query}"))
    assert marked in html


def test_an_accent_folded_match_deep_in_a_long_turn_is_excerpted_around_it(reviewer_client, store):
    session = store.start_session("tom")
    store.append_turn(session.id, "user", "x " * 50_000 + "Das Résumé kommt morgen.")
    html = body(reviewer_client.get(reverse("memory_app:sessions") + "?q=resume"))
    assert "<mark>Résumé</mark> kommt morgen" in html


def test_the_started_column_sorts_both_ways_through_its_index_and_pages(reviewer_client):
    make_sessions(60, turns=0)
    page = reviewer_client.get(SESSIONS + "?sort=started")
    starts = [s.started_at for s in page.context["sessions"]]
    assert starts == sorted(starts)
    assert 'aria-sort="ascending"' in body(page)
    cursor = page.context["next_cursor"][1]
    rest = reviewer_client.get(SESSIONS + f"?sort=started&after={cursor}").context["sessions"]
    assert [s.started_at for s in rest] == sorted(s.started_at for s in rest)
    assert rest[0].started_at >= starts[-1]
    assert len(starts) + len(rest) == 60
    newest = reviewer_client.get(SESSIONS).context["sessions"]
    assert [s.started_at for s in newest] == sorted((s.started_at for s in newest), reverse=True)
    # The pages' own queries (on PostgreSQL the index holds a prefix of started_at: 0021).
    for order in (OLDEST_FIRST, NEWEST_FIRST):
        for cursor in (None, (starts[-1], page.context["sessions"][-1].id)):
            with CaptureQueriesContext(connection) as captured:
                list(Session.objects.in_order(order).before(cursor, order)[:51])
            plan = query_plan(captured.captured_queries[0]["sql"], sorts_priced_out=True)
            assert "idx_sessions_started" in " ".join(plan), plan
            assert full_sorts(plan) == [], plan


def edit_and_delete_turns_as_another_writer(store) -> None:
    """Two turns, then raw SQL edits the first ("Résumé über Kyoto" goes) and deletes the
    second ("Zanzibar")."""
    session = store.start_session("tom")
    store.append_turn(session.id, "user", "Ein Résumé über Kyoto")
    gone = store.append_turn(session.id, "user", "Zanzibar itinerary")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE conversation_turns SET content = 'Ein Lebenslauf' WHERE turn_index = 0"
        )
        cursor.execute("DELETE FROM conversation_turns WHERE id = %s", [gone.id])


def test_search_follows_edits_and_deletes_any_writer_makes(reviewer_client, store):
    edit_and_delete_turns_as_another_writer(store)

    def found(query):
        return len(reviewer_client.get(SESSIONS, {"q": query}).context["matches"])

    assert [found("resume"), found("Kyoto"), found("Zanzibar"), found("Lebensl")] == [0, 0, 0, 1]


@pytest.mark.engine("sqlite")
def test_the_sqlite_search_indexes_store_no_copy_of_the_text_and_stay_exact(store):
    edit_and_delete_turns_as_another_writer(store)
    with connection.cursor() as cursor:
        for index in ("turn_search", "turn_words"):
            # FTS5 checks an external-content index against the rows it reads from.
            cursor.execute(f"INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 1)")
        cursor.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN "
            "('turn_search_content', 'turn_words_content', 'turn_search_docsize')"
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.engine("sqlite")
def test_a_bulk_load_indexes_its_turns_and_leaves_fts5_merging_as_it_was(reviewer_client, store):
    session = store.start_session("tom")
    RuntimeMemoryStore.bulk_insert(
        Turn, [(f"b{n}", session.id, n, "user", f"bulk {n} Résumé", 1, "2026-11-24", "{}")
               for n in range(300)]
    )  # fmt: skip
    store.append_turn(session.id, "user", "after the load")  # through the triggers again
    for query, expected in [("bulk", 50), ("resume", 50), ("after the load", 1)]:  # a page
        assert len(reviewer_client.get(SESSIONS, {"q": query}).context["matches"]) == expected
    with connection.cursor() as cursor:
        for index in ("turn_search", "turn_words"):
            # Merged lazily during the load; FTS5's default (4) for every later write.
            cursor.execute(f"SELECT v FROM {index}_config WHERE k = 'automerge'")
            assert cursor.fetchone() == (4,)
            cursor.execute(f"INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 1)")


# --- cached fragments: invalidated by the rows themselves -----------------------------------


def test_a_cached_transcript_shows_another_writer_s_new_and_edited_turns(reviewer_client, store):
    session = store.start_session("tom")
    store.append_turn(session.id, "user", "first words")
    url = reverse("memory_app:session", args=[session.id])
    assert "first words" in body(reviewer_client.get(url))
    assert "first words" in body(reviewer_client.get(url))  # from the cache
    with connection.cursor() as cursor:  # another writer, behind the store
        cursor.execute(
            "INSERT INTO conversation_turns (id, session_id, turn_index, role, content, "
            "created_at) VALUES ('raw', %s, 1, 'assistant', 'second words', '2026-11-24')",
            [session.id],
        )
        cursor.execute("UPDATE conversation_turns SET content = 'edited words' WHERE id != 'raw'")
    html = body(reviewer_client.get(url))
    assert "second words" in html
    assert "edited words" in html
    assert "first words" not in html


def test_a_cached_session_list_shows_another_writer_s_change(reviewer_client):
    make_sessions(1, turns=0)
    url = reverse("memory_app:sessions")
    assert "active (1)" in body(reviewer_client.get(url))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE sessions SET status = 'ended', ended_at = '2026-11-30'")
    html = body(reviewer_client.get(url))
    assert "active (1)" not in html
    assert "ended (1)" in html
    assert '<span class="badge status-ended">ended</span>' in html


@pytest.mark.parametrize(
    ("table", "insert"),
    [
        ("sessions", "INSERT INTO sessions (id, actor, started_at) VALUES ('t', 'tom', '2026')"),
        (
            "workflow_runs",
            "INSERT INTO workflow_runs (id, workflow_name, trigger_source, initiated_by, status, "
            "started_at) VALUES ('t', 'w', 'cron', 'x', 'running', '2026')",
        ),
    ],
)
def test_any_writer_s_change_replaces_the_table_s_change_token(table, insert):
    from memory_app.models import ChangeToken

    seen = {ChangeToken.of(table)}
    with connection.cursor() as cursor:
        for statement in (insert, f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            cursor.execute(statement)
            token = ChangeToken.of(table)
            assert token not in seen, statement
            seen.add(token)


# --- facets and clean filter URLs ------------------------------------------------------


def test_a_list_filtered_in_place_sends_its_facet_counts_again(reviewer_client, store):
    for actor, channel in [("tom", "cli"), ("tom", "cli"), ("oxide", "cli"), ("oxide", "api")]:
        store.start_session(actor, channel=channel)
    reload = body(reviewer_client.get(SESSIONS + "?actor=oxide"))
    assert '<option value="cli">cli (1)</option>' in reload
    fragment = body(reviewer_client.get(SESSIONS + "?actor=oxide", HTTP_HX_REQUEST="true"))
    assert fragment.lstrip().startswith('<section id="results">')
    # Each facet's options, counted under the new filter, swapped into the form's select.
    assert '<select id="id_channel" hx-swap-oob="innerHTML">' in fragment
    assert '<option value="cli">cli (1)</option>' in fragment  # a reload's count, not 3
    assert '<option value="api">api (1)</option>' in fragment
    assert '<option value="oxide" selected>oxide (2)</option>' in fragment
    assert '<option value="tom">tom (2)</option>' in fragment
    # A whole page has them in its form, once.
    assert "hx-swap-oob" not in reload


@pytest.mark.parametrize(
    ("query", "clean"),
    [
        ("?q=&actor=&channel=cli", "?channel=cli"),
        ("?actor=&channel=&status=&started_from=", ""),
        ("?q=caf%C3%A9&meta_key=", "?q=caf%C3%A9"),
    ],
)
def test_a_plain_form_submit_with_empty_fields_redirects_to_the_clean_url(
    reviewer_client, query, clean
):
    for url in (SESSIONS, reverse("memory_app:workflows")):
        response = reviewer_client.get(url + query)
        assert response.status_code == 302
        assert response["Location"] == url + clean
    assert reviewer_client.get(SESSIONS + "?channel=cli").status_code == 200


def test_the_refusal_of_an_anonymous_visitor_comes_before_the_redirect(client):
    response = client.get(SESSIONS + "?actor=")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
