"""Workflow list and timelines."""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.urls import reverse

from memory_app.models import TaskEvent, WorkflowRun
from tests.helpers import body, count_queries

pytestmark = pytest.mark.django_db

RUNS = reverse("memory_app:workflows")


def run_url(run_id: str, query: str = "") -> str:
    return reverse("memory_app:workflow", args=[run_id]) + query


@pytest.fixture
def finished_run(store):
    run = store.start_workflow_run(
        "nightly-digest",
        trigger_source="cron",
        initiated_by="scheduler",
        started_at="2026-11-24T10:00:00Z",
        run_id="runs/2026 11 24",
    )
    collect = store.add_step(run.id, "collect", started_at="2026-11-24T10:00:00Z")
    store.finish_step(collect.id, status="succeeded", finished_at="2026-11-24T10:01:00Z")
    rank = store.add_step(run.id, "rank", started_at="2026-11-24T10:01:00Z")
    store.finish_step(rank.id, status="failed", finished_at="2026-11-24T10:04:00Z")
    store.add_event("info", "low", "collected 40 items", step_id=collect.id, payload={"n": 40})
    store.add_event("error", "critical", "ranker crashed", step_id=rank.id)
    store.add_event("warn", "medium", "retrying source", step_id=rank.id)
    store.add_event("policy", "high", "run-level guard", run_id=run.id)
    store.finish_workflow_run(run.id, status="failed", finished_at="2026-11-24T10:04:00Z")
    return run


def test_list_filters_and_shows_duration(reviewer_client, finished_run, store):
    store.start_workflow_run("other", trigger_source="manual", initiated_by="alice")
    html = body(reviewer_client.get(RUNS + "?status=failed"))
    assert html.count("<tr data-row") == 1
    assert '<td class="num" data-label="Duration">4m 00s</td>' in html
    assert 'class="status-failed"' in html
    for query, expected in [
        ("?workflow_name=other", 1),
        ("?trigger_source=cron", 1),
        ("?initiated_by=alice", 1),
        ("?started_from=2026-11-24T10:00Z&started_to=2026-11-24T10:00Z", 1),
        ("", 2),
    ]:
        assert body(reviewer_client.get(RUNS + query)).count("<tr data-row") == expected


def test_list_query_count_is_constant_and_exports(reviewer_client, store):
    store.start_workflow_run("a", trigger_source="cron", initiated_by="s")
    few = count_queries(reviewer_client, RUNS)
    for n in range(40):
        store.start_workflow_run(f"w{n}", trigger_source="api", initiated_by="s")
    assert count_queries(reviewer_client, RUNS) == few
    rows = json.loads(body(reviewer_client.get(RUNS + "?format=json&trigger_source=api")))
    assert len(rows) == 40
    assert body(reviewer_client.get(RUNS + "?format=csv")).startswith("id,workflow_name")


def test_timeline_orders_steps_draws_them_to_scale_and_nests_events(reviewer_client, finished_run):
    response = reviewer_client.get(run_url(finished_run.id))
    html = body(response).split('<section id="timeline">')[1]
    assert html.index("collect") < html.index("rank")
    # collect takes the first quarter of the 4-minute run, rank the rest.
    assert 'x="0" y="0" width="250"' in html
    assert 'x="250" y="0" width="750"' in html
    steps = response.context["steps"]
    assert [e.message for e in steps[0]["events"]] == ["collected 40 items"]
    assert [e.message for e in steps[1]["events"]] == ["ranker crashed", "retrying source"]
    assert [e.message for e in response.context["run_events"]] == ["run-level guard"]
    assert 'class="badge level-critical"' in html
    assert "<summary>payload" in html
    assert "every 5s" not in html


def test_events_filter_by_type_and_level_as_a_fragment(reviewer_client, finished_run):
    response = reviewer_client.get(
        run_url(finished_run.id, "?level=critical&level=high"), HTTP_HX_REQUEST="true"
    )
    html = body(response)
    assert html.lstrip().startswith('<section id="timeline"')
    assert "ranker crashed" in html
    assert "run-level guard" in html
    assert "retrying source" not in html
    assert "collected 40 items" not in html
    only_warn = body(reviewer_client.get(run_url(finished_run.id, "?type=warn")))
    timeline = only_warn.split('<section id="timeline">')[1]
    assert "retrying source" in timeline
    assert "ranker crashed" not in timeline
    assert 'name="type" value="warn" checked' in only_warn


def test_live_run_refreshes_itself(reviewer_client, store):
    run = store.start_workflow_run("live", trigger_source="agent", initiated_by="oxide")
    store.add_step(run.id, "think")
    html = body(reviewer_client.get(run_url(run.id)))
    assert 'hx-trigger="every 5s"' in html


def test_timeline_query_count_is_constant(reviewer_client, finished_run, store):
    few = count_queries(reviewer_client, run_url(finished_run.id))
    for n in range(30):
        step = store.add_step(finished_run.id, f"extra-{n}")
        store.add_event("info", "low", "x", step_id=step.id)
    assert count_queries(reviewer_client, run_url(finished_run.id)) == few


def test_workflow_replay_exports_as_json(reviewer_client, finished_run):
    response = reviewer_client.get(run_url(finished_run.id, "?format=json"))
    replay = json.loads(body(response))
    assert replay["run"]["id"] == "runs/2026 11 24"
    assert [s["step_name"] for s in replay["steps"]] == ["collect", "rank"]
    assert [e["message"] for e in replay["steps"][1]["events"]] == [
        "ranker crashed",
        "retrying source",
    ]
    assert [e["message"] for e in replay["run_events"]] == ["run-level guard"]


def test_unknown_run_is_404(reviewer_client):
    assert reviewer_client.get(run_url("missing")).status_code == 404


def test_run_with_unparseable_times_still_renders(reviewer_client):
    run = WorkflowRun.objects.create(
        workflow_name="odd", trigger_source="psychic", initiated_by="?", status="Exploded!",
        started_at="yesterday-ish", context_json="[not json",
    )  # fmt: skip
    TaskEvent.objects.create(
        workflow_run=run, event_type="shout", event_level="apocalyptic", message="m",
        created_at="sometime", payload_json="{",
    )  # fmt: skip
    html = body(reviewer_client.get(run_url(run.id)))
    assert "yesterday-ish" in html
    assert "Exploded!" in html
    assert "status-other" in html
    assert "level-other" in html
    assert "invalid JSON" in html


def test_event_filters_show_their_counts_in_the_run(reviewer_client, store):
    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s")
    step = store.add_step(run.id, "one")
    store.add_event("error", "critical", "boom", step_id=step.id)
    store.add_event("info", "low", "tick", run_id=run.id)
    store.add_event("info", "low", "tock", run_id=run.id)
    html = reviewer_client.get(reverse("memory_app:workflow", args=[run.pk])).content.decode()
    assert "> info (2)</label>" in html
    assert "> error (1)</label>" in html
    assert '<span class="badge level-low">low</span> (2)' in html


# --- long runs: steps a page at a time, each with its first events -----------------------


@pytest.fixture
def long_run(store):
    """25 steps of one minute each; step 0 has 13 events, the others one."""
    run = store.start_workflow_run(
        "long", trigger_source="cron", initiated_by="s", started_at="2026-11-24T10:00:00Z"
    )
    for n in range(25):
        step = store.add_step(run.id, f"step-{n}", started_at=f"2026-11-24T10:{n:02d}:00Z")
        store.finish_step(step.id, status="succeeded", finished_at=f"2026-11-24T10:{n + 1:02d}:00Z")
        for e in range(13 if n == 0 else 1):
            store.add_event(
                "info", "low", f"s{n} e{e}", step_id=step.id,
                created_at=f"2026-11-24T10:{n:02d}:{e:02d}Z",
            )  # fmt: skip
    store.finish_workflow_run(run.id, status="succeeded", finished_at="2026-11-24T10:25:00Z")
    return run


def step_names(response) -> list[str]:
    return [item["step"].step_name for item in response.context["steps"]]


def test_a_long_timeline_shows_its_steps_a_page_at_a_time(reviewer_client, long_run):
    first = reviewer_client.get(run_url(long_run.id))
    assert step_names(first) == [f"step-{n}" for n in range(10)]
    html = body(first)
    assert 'hx-get="?from=10" hx-trigger="revealed"><a href="?from=10">Steps from #10' in html
    more = reviewer_client.get(run_url(long_run.id, "?from=10"), HTTP_HX_REQUEST="true")
    assert step_names(more) == [f"step-{n}" for n in range(10, 20)]
    assert body(more).lstrip().startswith('<li class="step')  # only the steps, to append
    last = reviewer_client.get(run_url(long_run.id, "?from=20"))  # a plain page load too
    assert step_names(last) == [f"step-{n}" for n in range(20, 25)]
    assert "« From the first step" in body(last)
    assert "Steps from #" not in body(last)
    # Bars are drawn against the whole run: step 20 starts at 20/25 of it.
    assert 'x="800" y="0" width="40"' in body(last)


def test_a_step_shows_its_first_events_and_the_rest_on_request(reviewer_client, long_run):
    response = reviewer_client.get(run_url(long_run.id))
    first = response.context["steps"][0]
    assert [e.message for e in first["events"]] == [f"s0 e{e}" for e in range(10)]
    step_id = first["step"].pk
    html = body(response)
    assert f"?step={step_id}&amp;events_from=10" in html
    assert "3 more events of this step »" in html
    rest = reviewer_client.get(
        run_url(long_run.id, f"?step={step_id}&events_from=10"), HTTP_HX_REQUEST="true"
    )
    assert [e.message for e in rest.context["events"]] == ["s0 e10", "s0 e11", "s0 e12"]
    assert body(rest).lstrip().startswith('<li class="event')
    page = body(reviewer_client.get(run_url(long_run.id, f"?step={step_id}&events_from=10")))
    assert "Events of step #0 step-0" in page
    assert reviewer_client.get(run_url(long_run.id, "?step=missing")).status_code == 404


def test_run_level_events_beyond_the_first_are_a_click_away(reviewer_client, store):
    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s")
    for n in range(12):
        store.add_event("info", "low", f"run event {n:02d}", run_id=run.id)
    response = reviewer_client.get(run_url(run.id))
    assert len(response.context["run_events"]) == 10
    assert "2 more run-level events »" in body(response)
    rest = reviewer_client.get(run_url(run.id, "?run_events=1&events_from=10"))
    assert [e.message for e in rest.context["events"]] == ["run event 10", "run event 11"]


def test_events_are_in_time_order_whatever_form_their_times_take(reviewer_client, store):
    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s")
    step = store.add_step(run.id, "one")
    for message, at in [
        ("third", "2026-11-24T10:30:00Z"),
        ("first", "2026-11-24T11:00:00+02:00"),  # 09:00 UTC
        ("second", "2026-11-24 09:30"),
        ("unreadable", "sometime"),
    ]:  # written as another writer would, as they are
        TaskEvent.objects.create(
            step_id=step.id, event_type="info", event_level="low", message=message, created_at=at
        )
    events = reviewer_client.get(run_url(run.id)).context["steps"][0]["events"]
    assert [e.message for e in events] == ["unreadable", "first", "second", "third"]


def test_a_live_refresh_keeps_the_steps_the_reader_scrolled_to(reviewer_client, store):
    run = store.start_workflow_run("live", trigger_source="agent", initiated_by="oxide")
    for n in range(25):
        store.add_step(run.id, f"step-{n}")
    html = body(reviewer_client.get(run_url(run.id)))
    assert 'id="timeline-poll" hx-get="?through=9"' in html
    more = body(reviewer_client.get(run_url(run.id, "?from=10"), HTTP_HX_REQUEST="true"))
    # The page loaded below brings the refresh up to its last step.
    assert 'id="timeline-poll" hx-get="?through=19" hx-trigger="every 5s"' in more
    assert 'hx-swap-oob="true"' in more
    refreshed = reviewer_client.get(run_url(run.id, "?through=19"), HTTP_HX_REQUEST="true")
    assert step_names(refreshed) == [f"step-{n}" for n in range(20)]
    assert body(refreshed).lstrip().startswith('<section id="timeline"')


def test_a_cached_timeline_shows_another_writer_s_new_event(reviewer_client, finished_run):
    url = run_url(finished_run.id)
    assert "collected 40 items" in body(reviewer_client.get(url))
    assert "collected 40 items" in body(reviewer_client.get(url))  # from the cache
    step_id = reviewer_client.get(url).context["steps"][0]["step"].pk
    with connection.cursor() as cursor:  # another writer, behind the store
        cursor.execute(
            "INSERT INTO task_events (id, step_id, event_type, event_level, message, "
            "payload_json, created_at) VALUES ('raw', %s, 'warn', 'high', 'late news', '{}', "
            "'2026-11-24T10:00:30Z')",
            [step_id],
        )
    assert "late news" in body(reviewer_client.get(url))


def test_a_long_timeline_s_query_count_does_not_grow(reviewer_client, long_run, store):
    few = count_queries(reviewer_client, run_url(long_run.id))
    for n in range(40):
        step = store.add_step(long_run.id, f"more-{n}")
        for _ in range(12):
            store.add_event("warn", "medium", "x", step_id=step.id)
    assert count_queries(reviewer_client, run_url(long_run.id)) == few
    assert count_queries(reviewer_client, run_url(long_run.id, "?from=30")) == few


def test_a_cached_timeline_s_links_keep_the_filter_they_were_made_under(reviewer_client, long_run):
    # Only info events in this run: every filter below shows the same rows.
    step_id = reviewer_client.get(run_url(long_run.id)).context["steps"][0]["step"].pk
    html = body(reviewer_client.get(run_url(long_run.id, "?type=info")))
    assert f"?type=info&amp;step={step_id}&amp;events_from=10" in html


def test_a_failed_run_says_which_step_failed_and_why_at_the_top(reviewer_client, finished_run):
    html = body(reviewer_client.get(run_url(finished_run.id)))
    top = html.split('<dl class="facts">')[0]
    assert '<p class="failure">Failed at step' in top
    assert "#1 rank</a>: " in top
    assert "ranker crashed" in top  # its critical event, not the medium one after it
    assert "retrying source" not in top


def test_a_failed_run_without_a_failed_step_says_what_it_knows(reviewer_client, store):
    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s")
    store.add_event("error", "high", "quota exhausted", run_id=run.id)
    store.finish_workflow_run(run.id, status="failed")
    top = body(reviewer_client.get(run_url(run.id))).split('<dl class="facts">')[0]
    assert '<p class="failure">Failed: ' in top
    assert "quota exhausted" in top
    quiet = store.start_workflow_run("q", trigger_source="cron", initiated_by="s")
    store.finish_workflow_run(quiet.id, status="failed")
    top = body(reviewer_client.get(run_url(quiet.id))).split('<dl class="facts">')[0]
    assert "no high or critical event says why" in top


def test_a_succeeded_run_has_no_failure_line(reviewer_client, store):
    run = store.start_workflow_run("ok", trigger_source="cron", initiated_by="s")
    store.finish_workflow_run(run.id, status="succeeded")
    assert 'class="failure"' not in body(reviewer_client.get(run_url(run.id)))


def test_a_running_run_shows_how_long_it_has_been_running(reviewer_client, store, clock):
    clock.set(datetime(2026, 12, 6, 9, 0, tzinfo=UTC), ticking=False)
    run = store.start_workflow_run(
        "live", trigger_source="cron", initiated_by="s", started_at="2026-12-06T08:57:00Z"
    )
    assert "<dd>running for 3m 00s</dd>" in body(reviewer_client.get(run_url(run.id)))
    listed = body(reviewer_client.get(RUNS))
    assert '<td class="num" data-label="Duration">running for 3m 00s</td>' in listed
    clock.set(datetime(2026, 12, 6, 10, 0, tzinfo=UTC), ticking=False)
    assert "<dd>running for 1h 03m</dd>" in body(reviewer_client.get(run_url(run.id)))


def test_a_time_ahead_of_now_is_marked_wherever_it_shows(reviewer_client, store, clock):
    clock.set(datetime(2026, 12, 6, 9, 0, tzinfo=UTC), ticking=False)
    ahead = store.start_workflow_run(
        "ahead", trigger_source="cron", initiated_by="s", started_at="2026-12-07T09:00:00Z"
    )
    skewed = store.start_workflow_run(
        "skewed", trigger_source="cron", initiated_by="s", started_at="2026-12-06T09:00:30Z"
    )
    listed = body(reviewer_client.get(RUNS))
    assert listed.count('<span class="badge future">in the future</span>') == 1
    assert 'class="ts-future"' in body(reviewer_client.get(run_url(ahead.id)))
    # Half a minute of clock skew between writers is no mark.
    assert "in the future" not in body(reviewer_client.get(run_url(skewed.id)))
    clock.set(datetime(2026, 12, 8, 9, 0, tzinfo=UTC), ticking=False)
    assert "in the future" not in body(reviewer_client.get(run_url(ahead.id)))
