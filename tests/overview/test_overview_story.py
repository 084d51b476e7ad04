"""The overview tells the story of a window (issue #22): the window from the query string
(memory_app/overview/window.py), the aggregates (story.py, governance_story.py) against
hand-made rows, on both engines alike, through indexes, for a bounded number of queries;
each chart readable without its picture and linking to the list behind it."""

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from memory_app.expressions import is_canonical
from memory_app.models import (
    Approval,
    Proposal,
    Session,
    TaskEvent,
    Turn,
    WorkflowRun,
    WorkflowStep,
)
from memory_app.overview import charts, rollups, story
from memory_app.overview.governance_story import governance
from memory_app.overview.panels import counted, trend
from memory_app.overview.story import BEFORE, NOW, percentile
from memory_app.overview.window import Window, bucket_bounds, chosen_window
from memory_app.promotion import decision_time, rule
from memory_app.timeutil import format_iso, parse_iso
from tests.helpers import (
    body,
    count_queries,
    decide,
    full_sorts,
    query_plan,
    table_scans,
    validate,
)

pytestmark = pytest.mark.django_db

T0 = parse_iso("2026-12-06T09:00:00Z")


def at(hours: float = 0, days: float = 0) -> str:
    return format_iso(T0 + timedelta(hours=hours, days=days))


@pytest.fixture
def stopped(clock):
    clock.set(T0, ticking=False)
    return clock


def day_window() -> Window:
    window, errors = chosen_window({"window": "24h"})
    assert not errors
    return window


# --- the window ----------------------------------------------------------------------------


def test_presets_end_now_and_compare_with_the_window_before(stopped):
    for key, span in (("24h", timedelta(hours=24)), ("7d", timedelta(days=7))):
        window, errors = chosen_window({"window": key})
        assert (window.start, window.end, window.preset, errors) == (T0 - span, T0, key, [])
        assert (window.previous.start, window.previous.end) == (T0 - 2 * span, T0 - span)
    assert chosen_window({})[0] == chosen_window({"window": "24h"})[0]
    assert chosen_window({"window": "30d"})[0].unit == "day"


def test_a_custom_window_reads_any_iso_text_and_buckets_by_hour_or_day(stopped):
    window, errors = chosen_window({"from": "2026-11-01", "to": "2026-11-03T12:00+01:00"})
    assert errors == []
    assert window.bounds == ("2026-11-01T00:00:00.000Z", "2026-11-03T11:00:00.000Z")
    assert window.unit == "day"
    assert window.buckets() == ["2026-11-01", "2026-11-02", "2026-11-03"]
    short, _ = chosen_window({"from": "2026-11-01T22:30Z", "to": "2026-11-02T01:00Z"})
    assert short.buckets() == ["2026-11-01T22", "2026-11-01T23", "2026-11-02T00", "2026-11-02T01"]
    assert bucket_bounds("2026-11-01T22") == (
        "2026-11-01T22:00:00.000Z",
        "2026-11-01T22:59:59.999Z",
    )
    assert short.query() == "from=2026-11-01T22:30:00.000Z&to=2026-11-02T01:00:00.000Z"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"window": "1y"}, "There is no window '1y'"),
        ({"from": "yesterday", "to": "2026-12-01"}, "The window's from is not a date"),
        ({"from": "2026-12-01"}, "The window's to is not a date"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "to is not after its from"),
        ({"from": "2020-01-01", "to": "2026-12-01"}, "longer than 400 days"),
        ({"from": "0001-01-01", "to": "0001-02-01"}, "starts too early"),
        ({"from": "x" * 5000, "to": "2026-12-01"}, "'" + "x" * 40 + "…'"),
    ],
)
def test_a_bad_window_says_why_and_shows_the_default(stopped, query, says):
    window, errors = chosen_window(query)
    assert window == chosen_window({})[0]
    assert len(errors) >= 1
    assert says in errors[0]


def test_the_page_shows_a_bad_window_s_message(reviewer_client, stopped):
    html = body(reviewer_client.get("/?window=forever"))
    assert "There is no window &#x27;forever&#x27;" in html
    assert "Showing the last 24 hours." in html


@pytest.mark.parametrize(
    "query",
    [
        "from=9999-12-30&to=9999-12-31T23:59:59.999Z",
        "from=9999-12-31T20:00&to=9999-12-31T23:59:59.999Z",
        "from=0001-01-02&to=0001-01-03",
    ],
)
def test_windows_at_the_ends_of_time_show(reviewer_client, query):
    assert reviewer_client.get("/?" + query).status_code == 200
    assert bucket_bounds("9999-12-31")[1] == "9999-12-31T23:59:59.999Z"


@given(st.dictionaries(st.sampled_from(["window", "from", "to", "x"]), st.text(max_size=80)))
def test_any_query_string_gives_a_window(query):
    window, _errors = chosen_window(query)
    assert window.start < window.end
    assert len(window.buckets()) <= 24 * 2 + 1 or window.unit == "day"
    assert len(window.buckets()) <= 402


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["window", "from", "to", "window[]", ""]),
            st.one_of(
                st.sampled_from(["24h", "7d", "30d", "9999-12-31", "0001-01-01"]),
                st.datetimes().map(lambda moment: moment.isoformat() + "Z"),  # any year
                st.text(),
            ),
        ),
        max_size=4,
    )
)
def test_no_query_string_fails_the_page(reviewer_client, query):
    response = reviewer_client.get("/?" + urlencode(query))
    assert response.status_code == 200


# --- charts ----------------------------------------------------------------------------------


def test_a_time_chart_stacks_series_to_scale_and_keeps_every_number():
    chart = charts.time_chart(
        "c", "Runs", "3 runs.", ["a", "b"], ["A", "B"],
        [("failed", [1, 0], ["/f?a", "/f?b"], "/f"), ("succeeded", [1, 2], ["/s?a", "/s?b"], "/s")],
    )  # fmt: skip
    assert chart.top == "2"
    (_failed, failed_bars), (_, ok_bars) = chart.bars
    assert [b.value for b in failed_bars] == [1]  # no bar for nothing
    assert failed_bars[0].y + failed_bars[0].height == charts.PLOT_BOTTOM
    assert ok_bars[0].y + ok_bars[0].height == failed_bars[0].y  # stacked on top
    assert ok_bars[1].y == charts.PLOT_TOP  # the tallest stack reaches the top
    assert chart.rows == [
        ("A", [("failed", "1", "/f?a"), ("succeeded", "1", "/s?a")], "2"),
        ("B", [("failed", "0", ""), ("succeeded", "2", "/s?b")], "2"),
    ]
    assert {s.pattern for s in chart.series} == {"solid", "hatch"}  # not colour alone


def test_ticks_name_the_first_and_last_bucket_and_at_most_seven():
    labels = [f"d{n}" for n in range(31)]
    chart = charts.time_chart("c", "t", "s", labels, labels, [("x", [1] * 31, [""] * 31, "")])
    names = [t.label for t in chart.ticks]
    assert names[0] == "d0"
    assert names[-1] == "d30"
    assert len(names) <= 7


def test_sentences_count_in_the_singular_and_plural():
    assert counted(1, "sessions") == "1 session"
    assert counted(1234, "turns") == "1,234 turns"
    assert counted(0, "runs") == "0 runs"


def test_percentiles_and_trends():
    assert percentile([], 50) is None
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile(list(range(1, 101)), 95) == 95
    window = Window(T0 - timedelta(days=7), T0, "7d")
    assert trend(10, 8, window) == "up 25% on the 7 days before (8)"
    assert trend(6, 8, window) == "down 25% on the 7 days before (8)"
    assert trend(3, 0, window) == "none in the 7 days before"
    assert trend(0, 0, window) == "the same as the 7 days before"


# --- conversations --------------------------------------------------------------------------


def make_sessions():
    """Sessions and turns around T0: in the window, in the one before, in other time forms,
    unreadable."""
    Session.objects.bulk_create(
        [
            Session(id="s1", actor="tom", channel="cli", started_at=at(-1.5)),
            Session(id="s2", actor="ann", channel="api", started_at=at(-1.2)),
            Session(id="s3", actor="tom", channel="cli", started_at="2026-12-06 08:30+01:00"),
            Session(id="s4", actor="tom", channel=None, started_at=at(-30)),  # the day before
            Session(id="s5", actor="bob", channel="cli", started_at="not a time"),
            Session(id="s6", actor="tom", channel="cli", started_at=at(-50)),  # before both
        ]
    )
    Turn.objects.bulk_create(
        [
            Turn(id="t1", session_id="s1", turn_index=0, role="user", content="a",
                 token_count=10, created_at=at(-1.5)),
            Turn(id="t2", session_id="s1", turn_index=1, role="assistant", content="b",
                 token_count=30, created_at=at(-0.5)),
            Turn(id="t3", session_id="s2", turn_index=0, role="user", content="c",
                 token_count=None, created_at="2026-12-06T08:10:00Z"),
            Turn(id="t4", session_id="s4", turn_index=0, role="user", content="d",
                 token_count=7, created_at=at(-30)),
            Turn(id="t5", session_id="s5", turn_index=0, role="user", content="e",
                 token_count=5, created_at="??"),
        ]
    )  # fmt: skip


def test_sessions_and_turns_per_bucket_with_the_window_before(stopped):
    make_sessions()
    window = day_window()
    found = rollups.conversations(window)
    buckets = window.buckets()
    sessions = dict(zip(buckets, found.sessions.series(buckets), strict=True))
    # 07:30Z is s1's and s3's hour (s3 written as 08:30 at +01:00); 07:48Z is s2's.
    assert sessions["2026-12-06T07"] == 3
    assert sum(sessions.values()) == found.sessions.total() == 3
    assert found.sessions.total(BEFORE) == 1
    assert found.sessions.undated == 1
    turns = dict(zip(buckets, found.turns.series(buckets), strict=True))
    assert turns == {**dict.fromkeys(buckets, 0), "2026-12-06T07": 1, "2026-12-06T08": 2}
    tokens = dict(zip(buckets, found.turns.series(buckets, 1), strict=True))
    assert tokens["2026-12-06T07"] == 10
    assert tokens["2026-12-06T08"] == 30
    assert (found.turns.total(BEFORE), found.turns.total(BEFORE, 1)) == (1, 7)
    assert found.turns.undated == 1
    assert found.sessions.by_group(0) == [("tom", 2), ("ann", 1)]
    assert found.turns_by.by_group(1) == [("cli", 2), ("api", 1)]
    assert found.turns_by.by_group(0, 1) == [("tom", 40), ("ann", 0)]
    assert found.turns_by.total(BEFORE) == 0
    assert found.turns_by.total() == found.turns.total()


@pytest.mark.engine("sqlite")  # PostgreSQL's bigint holds integers alone
def test_a_count_stored_as_text_reading_as_infinity_counts_as_none(reviewer_client, stopped):
    make_sessions()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE conversation_turns SET token_count = '1e999' WHERE id = 't2'")
    found = rollups.conversations(day_window())
    assert found.turns.total(NOW, 1) == 10  # t1's alone
    assert reviewer_client.get("/").status_code == 200


def test_the_page_links_each_actor_and_bucket_to_the_sessions_list(reviewer_client, stopped):
    make_sessions()
    html = body(reviewer_client.get("/?window=24h"))
    start, end = (v.replace(":", "%3A") for v in day_window().bounds)
    assert f'href="/sessions/?actor=tom&amp;started_from={start}&amp;started_to={end}"' in html
    hour = "started_from=2026-12-06T07%3A00%3A00.000Z&amp;started_to=2026-12-06T07%3A59%3A59.999Z"
    assert f'<a href="/sessions/?{hour}">3</a>' in html
    assert "1 session and 1 turn whose time cannot be read" in html


# --- workflow runs --------------------------------------------------------------------------


def make_runs():
    def run(pk, name, status, start, seconds=None):
        begun = parse_iso(start)
        finished = None
        if begun and seconds is not None:
            finished = format_iso(begun + timedelta(seconds=seconds))
        return WorkflowRun(id=pk, workflow_name=name, trigger_source="cron", initiated_by="s",
                           status=status, started_at=start, finished_at=finished)  # fmt: skip

    WorkflowRun.objects.bulk_create(
        [
            run("r1", "digest", "succeeded", at(-5), 10),
            run("r2", "digest", "failed", at(-4), 20),
            run("r3", "digest", "failed", at(-3), 30),
            run("r4", "sync", "failed", "2026-12-06 07:00:00+01:00", 40),  # 06:00Z
            run("r5", "sync", "running", at(-1)),
            run("r6", "digest", "succeeded", at(-26), 100),  # the window before
            run("r7", "digest", "failed", at(-27), 100),
            run("r8", "sync", "failed", "someday", 5),
        ]
    )
    WorkflowStep.objects.bulk_create(
        [
            WorkflowStep(id="st2", workflow_run_id="r2", step_index=0, step_name="fetch",
                         status="failed", started_at=at(-4)),
            WorkflowStep(id="st3a", workflow_run_id="r3", step_index=0, step_name="fetch",
                         status="succeeded", started_at=at(-3)),
            WorkflowStep(id="st3b", workflow_run_id="r3", step_index=1, step_name="send",
                         status="failed", started_at=at(-3),
                         details_json='{"error": "smtp refused"}'),
            WorkflowStep(id="st4", workflow_run_id="r4", step_index=0, step_name="pull",
                         status="failed", started_at=at(-3)),
        ]
    )  # fmt: skip
    TaskEvent.objects.bulk_create(
        [
            TaskEvent(id="e1", step_id="st4", event_type="error", event_level="high",
                      message="first", created_at=at(-2.9)),
            TaskEvent(id="e2", step_id="st4", event_type="error", event_level="critical",
                      message="timed out after 30 s", created_at=at(-2.8)),
        ]
    )  # fmt: skip


def test_runs_by_status_failure_rate_durations_and_failing_most(stopped):
    make_runs()
    window = day_window()
    found = story.workflows(window)
    buckets = window.buckets()
    by_status = found.by_status(buckets)
    assert sum(by_status["failed"]) == 3
    assert sum(by_status["running"]) == 1
    assert by_status["failed"][buckets.index("2026-12-06T06")] == 2  # r3 and r4 (06:00Z)
    assert found.failure_rate() == 3 / 4
    assert found.failure_rate(BEFORE) == 1 / 2
    assert found.durations() == [10, 20, 30, 40]
    assert (percentile(found.durations(), 50), percentile(found.durations(), 95)) == (20, 40)
    assert found.undated == 1
    digest, sync = found.failing
    assert (digest.name, digest.failed, digest.latest_run) == ("digest", 2, "r3")
    assert (digest.step_name, digest.error) == ("send", "smtp refused")  # from its details
    assert (sync.name, sync.failed, sync.step_name) == ("sync", 1, "pull")
    assert sync.error == "timed out after 30 s"  # its latest event's message


def test_the_page_shows_runs_by_status_with_links(reviewer_client, stopped):
    make_runs()
    html = body(reviewer_client.get("/"))
    start, end = (v.replace(":", "%3A") for v in day_window().bounds)
    assert (
        f'href="/workflows/?status=failed&amp;started_from={start}&amp;started_to={end}">failed: 3'
        in html
    )
    assert (
        f'href="/workflows/?workflow_name=digest&amp;status=failed&amp;started_from={start}' in html
    )
    assert 'href="/workflows/r3/">send</a>' in html
    assert "smtp refused" in html
    assert "75.0%" in html
    assert "50.0% in the window before" in html
    assert "20 s / 40 s" in html


# --- proposals ------------------------------------------------------------------------------


def draft(store, clock, when: str, risk="low", key="k"):
    clock.set(when, ticking=False)
    skill = store.learn_skill(key, "a skill", source_type="doc", confidence=0.5)
    return store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="config_change", proposal={"k": key},
        risk_level=risk,
    )  # fmt: skip


def test_proposals_opened_decided_and_waiting(store, clock):
    rejected = draft(store, clock, at(-10), key="rejected")
    validate(store, rejected, at=at(-9))
    clock.set(at(-6), ticking=False)
    decide(
        store, rejected, "ann", "human", decision="rejected", notes="no"
    )  # 4 hours after drafting
    old = draft(store, clock, at(-40), key="old")  # the window before, decided then
    clock.set(at(-30), ticking=False)
    decide(store, old, "ann", "human", decision="rejected", notes="no")
    waiting_high = draft(store, clock, at(-2), risk="high", key="high")
    validate(store, waiting_high)
    decide(store, waiting_high, "ann", "human")
    draft(store, clock, at(-1), risk="low", key="low")
    clock.set(T0, ticking=False)
    window = day_window()
    found = governance(window)
    buckets = window.buckets()
    opened = dict(zip(buckets, found.opened.series(buckets), strict=True))
    assert opened["2026-12-05T23"] == opened["2026-12-06T07"] == opened["2026-12-06T08"] == 1
    assert (found.opened.total(), found.opened.total(BEFORE)) == (3, 1)
    assert [(d.proposal.pk, d.status, d.at, d.hours) for d in found.decided if d.period == NOW] == [
        (rejected.pk, "rejected", at(-6), 4.0)
    ]
    assert found.decided_total(BEFORE) == 1
    assert found.latencies(BEFORE) == [10.0]
    assert found.waiting_now == 2
    assert dict(found.waiting_by_risk) == {"high": 1, "low": 1}
    high_missing = rule.verdict_for(Proposal.objects.get(pk=waiting_high.pk)).missing
    assert "human" not in high_missing
    assert high_missing
    assert dict(found.missing) == {kind: 1 for kind in high_missing} | {"human": 1}
    waiting = found.waiting_series(buckets, window)
    # At the end of each hour: those waiting now, less those opened since, plus those decided.
    assert waiting[-1] == 2
    assert waiting[buckets.index("2026-12-06T07")] == 1
    assert waiting[buckets.index("2026-12-06T06")] == 0
    assert waiting[buckets.index("2026-12-06T02")] == 1  # the rejected one, not yet decided
    assert waiting[buckets.index("2026-12-05T22")] == 0  # nor yet drafted


def test_a_decision_counts_when_the_log_recorded_it_not_when_it_claims(store, clock):
    """A rejection dated ten years back but recorded now is decided now (``decision_time``)."""
    proposal = draft(store, clock, at(-3), key="backdated")
    validate(store, proposal, at=at(-2))
    clock.set(at(-1), ticking=False)
    decide(
        store,
        proposal,
        "ann",
        "human",
        decision="rejected",
        notes="no",
        decided_at="2016-01-01T00:00:00Z",
    )
    clock.set(T0, ticking=False)
    found = governance(day_window())
    (decided,) = [d for d in found.decided if d.period == NOW]
    # It cannot reach back behind the log's take-in before it (the drafting, at -3 h).
    assert decided.at == at(-3)
    approval = Proposal.objects.get(pk=proposal.pk).approvals.get()
    assert decided.at == decision_time.attach([approval])[0].counted_at


def test_the_page_links_waiting_by_risk_to_the_queue(reviewer_client, store, clock):
    draft(store, clock, at(-1), risk="high", key="w")
    clock.set(T0, ticking=False)
    html = body(reviewer_client.get("/"))
    risk = html[html.index('id="risk-chart"') :]
    assert '<a href="/proposals/?risk_level=high">1</a>' in risk
    assert '<a href="/proposals/?risk_level=critical">0</a>' in risk
    missing = html[html.index('id="missing-chart"') :]
    assert re.search(
        r'<td data-label="Missing type">human</td>\s*'
        r'<td data-label="Waiting"><a href="/proposals/">1</a>',
        missing,
    )


# --- the page as a whole --------------------------------------------------------------------


def test_every_chart_has_a_caption_a_description_a_table_and_links(reviewer_client, stopped, store):
    make_sessions()
    make_runs()
    html = body(reviewer_client.get("/"))
    figures = re.findall(r'<figure class="chart" id="([a-z-]+)">(.*?)</figure>', html, re.S)
    assert [f for f, _ in figures] == [
        "sessions-chart", "turns-chart", "tokens-chart", "runs-chart",
        "opened-chart", "decided-chart", "waiting-chart",
    ]  # fmt: skip
    for chart_id, inner in figures:
        assert (
            f'role="img" aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-summary"'
            in inner
        )
        assert f'<p class="chart-summary" id="{chart_id}-summary">' in inner
        assert '<table class="rows">' in inner
        assert "<a href=" in inner
        assert "style=" not in inner  # the strict CSP: attributes and classes only
        cells = re.findall(r"<td data-label=\"([^\"]+)\">", inner)
        assert cells, chart_id


def test_the_query_count_does_not_grow_with_rows(reviewer_client, stopped, store):
    make_sessions()
    make_runs()
    rejected = draft(store, stopped, at(-3), key="rejected")
    validate(store, rejected)
    decide(store, rejected, "ann", "human", decision="rejected", notes="no")
    stopped.set(T0, ticking=False)
    few = count_queries(reviewer_client, "/?window=7d")
    for n in range(30):
        Session.objects.create(id=f"more{n}", actor=f"a{n}", started_at=at(-n))
        Session.objects.create(id=f"odd{n}", actor="x", started_at=f"2026-12-0{n % 5 + 1} 01:00")
        WorkflowRun.objects.create(
            id=f"run{n}", workflow_name=f"w{n % 7}", trigger_source="cron", initiated_by="s",
            status="failed", started_at=at(-n), finished_at=at(-n + 0.1),
        )  # fmt: skip
        proposal = draft(store, stopped, at(-n), key=f"p{n}")
        validate(store, proposal)
        decide(store, proposal, "ann", "human", decision="rejected", notes="no")
    stopped.set(T0, ticking=False)
    many = count_queries(reviewer_client, "/?window=7d")
    # Bounded by the panels, whatever the rows: the rows of the proposals read are
    # fetched per 500 of them (``lineage.judged``), a constant number of queries here.
    assert many <= few <= 40


# --- indexes --------------------------------------------------------------------------------


def captured(call) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        call()
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize(
    ("label", "call", "indexes"),
    [
        ("sessions", lambda w: story.tally(Session.objects.all(), "started_at", w, ("actor",)),
         ("idx_sessions_canonical", "idx_sessions_other_times")),
        ("turns", lambda w: story.tally(Turn.objects.all(), "created_at", w, summed="token_count"),
         ("idx_turns_canonical", "idx_turns_other_times")),
        ("runs", story.workflows, ("idx_workflow_runs_canonical", "idx_workflow_runs_other_times")),
        ("proposals", lambda w: story.tally(Proposal.objects.all(), "created_at", w),
         ("idx_proposals_canonical", "idx_proposals_other_times")),
    ],
)  # fmt: skip
def test_the_aggregates_read_through_their_indexes(stopped, label, call, indexes):
    make_sessions()
    window = day_window()
    statements = captured(lambda: call(window))[:2]  # the canonical rows, then the others
    for sql, index in zip(statements, indexes, strict=True):
        plan = query_plan(sql)
        assert index in " ".join(plan), (label, plan)
        # Reading the whole partial index of the few rows in other forms is what it is for.
        assert not [s for s in table_scans(plan) if index not in s], (label, plan)


def test_turns_per_hour_come_in_the_order_of_their_index_unsorted(stopped):
    """A window of the million-turn file holds hundreds of thousands of turns: counted per
    hour in the order of ``idx_turns_canonical`` (led by the hour), never sorted."""
    make_sessions()
    window = day_window()
    sql = captured(
        lambda: story.tally(Turn.objects.all(), "created_at", window, summed="token_count")
    )[0]
    plan = query_plan(sql, sorts_priced_out=True)
    assert "idx_turns_canonical" in " ".join(plan), plan
    assert not full_sorts(plan), plan
    assert not table_scans(plan), plan


# --- kept while the rows stay as they were --------------------------------------------------


def sessions_shown(client) -> str:
    html = body(client.get("/"))
    return re.search(r"Sessions started</dt><dd><strong>([0-9,]+)</strong>", html).group(1)


def test_the_story_is_kept_until_a_row_changes_and_at_most_a_minute(
    reviewer_client, stopped, store
):
    make_sessions()
    first = count_queries(reviewer_client, "/")
    assert count_queries(reviewer_client, "/") < first  # kept: one query says nothing changed
    assert sessions_shown(reviewer_client) == "3"
    with connection.cursor() as cursor:  # another writer's session, behind the store's back
        cursor.execute(
            "INSERT INTO sessions (id, actor, started_at, status, metadata_json) "
            "VALUES ('raw', 'eve', %s, 'active', '{}')",
            [at(-0.2)],
        )
    assert sessions_shown(reviewer_client) == "4"
    store.append_turn("s1", "user", "one more", token_count=1000)  # a turn alone shows too
    assert "1,040" in body(reviewer_client.get("/"))
    with connection.cursor() as cursor:  # an edit in place the version cannot see...
        cursor.execute("UPDATE conversation_turns SET token_count = 2 WHERE id = 't1'")
    assert "1,040" in body(reviewer_client.get("/"))
    stopped.set(T0 + timedelta(minutes=1), ticking=False)  # ...shows within the minute
    assert "1,032" in body(reviewer_client.get("/"))


def test_a_decision_recorded_by_another_writer_shows_at_once(reviewer_client, store, clock):
    proposal = draft(store, clock, at(-2), key="raw")
    validate(store, proposal)
    clock.set(T0, ticking=False)
    assert "0 proposals decided" in body(reviewer_client.get("/"))
    Approval.objects.create(
        id="raw-rejection", proposal_id=proposal.pk, approver="bob", approval_type="human",
        decision="rejected", notes="no", decided_at=at(-0.5),
    )  # fmt: skip
    assert "1 proposal decided" in body(reviewer_client.get("/"))


@pytest.mark.engine("sqlite")
def test_the_canonical_condition_is_spelled_as_the_index_s_so_it_is_not_evaluated_again():
    """SQLite knows a partial index's condition holds for each row it gives only when the
    query's term reads exactly as the index's: a parameter in its place (a filter on the
    flag binds True) made every turn's time be checked again (0.9 s of 1.2 s for 30 days
    of the million-turn file)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'idx_turns_canonical'")
        condition = cursor.fetchone()[0].split(" WHERE ", 1)[1]
    sql, _ = Turn.objects.filter(is_canonical("created_at")).query.sql_with_params()
    assert condition in sql.replace('"conversation_turns".', "")
