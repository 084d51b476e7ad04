"""Workflow list and timelines."""

import json

import pytest
from django.urls import reverse

from memory_app.models import TaskEvent, WorkflowRun

from .test_browse_sessions import body, count_queries

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
    assert '<td class="num">4m 00s</td>' in html
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
    html = body(response)
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
    assert "retrying source" in only_warn
    assert "ranker crashed" not in only_warn
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
