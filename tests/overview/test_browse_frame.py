"""The frame: login everywhere, no-role page, overview, activity, HTMX redirects."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from memory_app.models import Approval, DeployOutcome, TaskEvent
from memory_app.timeutil import parse_iso
from tests.helpers import body, query_plan

pytestmark = pytest.mark.django_db

PAGES = [
    reverse("memory_app:overview"),
    reverse("memory_app:activity"),
    reverse("memory_app:sessions"),
    reverse("memory_app:session", args=["any"]),
    reverse("memory_app:workflows"),
    reverse("memory_app:workflow", args=["any"]),
]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_users_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_htmx_requests_redirect_the_whole_page(client, url):
    response = client.get(
        url + "?from=3",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/sessions/?actor=tom",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/sessions/%3Factor%3Dtom"
    assert b"<form" not in response.content


@pytest.mark.parametrize("url", PAGES)
def test_outsider_without_a_role_sees_no_access_yet(outsider_client, url):
    response = outsider_client.get(url)
    assert response.status_code == 403
    assert b"No access yet" in response.content


def test_login_page_is_public_and_has_csrf(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content


def test_pages_carry_csp_without_inline_script(reviewer_client):
    response = reviewer_client.get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    html = response.content.decode()
    assert "<script>" not in html
    assert 'src="/static/memory_app/app.js"' in html
    assert "htmx" in html


def test_overview_counts_and_links_to_filtered_lists(reviewer_client, store):
    store.start_session("tom", session_id="live-one")
    ended = store.start_session("tom")
    store.end_session(ended.id)
    run = store.start_workflow_run("digest", trigger_source="cron", initiated_by="s")
    store.finish_workflow_run(run.id, status="failed")
    store.start_workflow_run("digest", trigger_source="cron", initiated_by="s")
    response = reviewer_client.get("/")
    html = response.content.decode()
    assert "1 active session" in html
    assert 'href="/sessions/?status=active"' in html
    assert "/sessions/live-one/" in html
    assert 'href="/workflows/?status=failed">1 failed' in html
    assert 'href="/workflows/?status=running">1 running' in html


def test_navigation_names_the_user_and_offers_sign_out(reviewer_client, reviewer):
    html = reviewer_client.get("/").content.decode()
    for label in ("Overview", "Sessions", "Workflows", "Activity"):
        assert f">{label}</a>" in html
    assert reviewer.username in html
    assert 'action="/accounts/logout/"' in html


@pytest.fixture
def history(store, proposal):
    run = store.start_workflow_run(
        "nightly", trigger_source="cron", initiated_by="s", started_at="2026-11-24T09:00Z"
    )
    store.add_event(
        "error", "critical", "disk full", run_id=run.id, created_at="2026-11-24T10:00:00Z"
    )
    store.add_event("info", "low", "tick", run_id=run.id, created_at="2026-11-24T10:30:00Z")
    # Rows from another writer, in other ISO-8601 forms: they must merge by instant.
    Approval.objects.create(
        proposal=proposal, approver="ann", approval_type="human", decision="approved",
        decided_at="2026-11-24 09:30:00",
    )  # fmt: skip
    DeployOutcome.objects.create(
        proposal=proposal, deployment_target="prod", status="rolled_back",
        deployed_at="2026-11-24T11:15:00+01:00",
    )  # fmt: skip
    store.publish_behavior_profile(
        "tom", {"a": 1}, created_by="paula", rationale="stricter guardrails"
    )
    return run


EVERY_KIND = "?kind=events&kind=approvals&kind=deploys&kind=profiles"


def test_activity_merges_every_source_in_time_order(reviewer_client, history):
    html = reviewer_client.get("/activity/" + EVERY_KIND).content.decode()
    # 10:30Z, 10:15Z (written +01:00), 10:00Z, 09:30Z (written with a space)
    order = ["stricter guardrails", "tick", "deploy rolled_back", "disk full", "human decision"]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions)


def test_activity_by_default_shows_decisions_deploys_profiles_and_serious_events(
    reviewer_client, history
):
    html = reviewer_client.get("/activity/").content.decode()
    for text in ("human decision", "deploy rolled_back", "stricter guardrails", "disk full"):
        assert text in html
    assert "tick" not in html


def test_activity_links_every_entry_and_names_the_skill(reviewer_client, history, proposal):
    html = reviewer_client.get("/activity/" + EVERY_KIND).content.decode()
    proposal_url = reverse("memory_app:proposal", args=[proposal.pk])
    assert f'on the proposal for <a href="{proposal_url}">summarise-logs</a>' in html
    assert f'of the proposal for <a href="{proposal_url}">summarise-logs</a>' in html
    assert f'run <a href="{reverse("memory_app:workflow", args=[history.pk])}">nightly</a>' in html
    assert 'href="/profiles/behavior/tom/#v1">tom v1</a>' in html


def test_activity_filters_events_by_level_and_kind(reviewer_client, history):
    html = reviewer_client.get("/activity/?kind=events&level=critical").content.decode()
    assert "disk full" in html
    assert "tick" not in html
    assert "human decision" not in html


def test_activity_htmx_returns_only_the_results(reviewer_client, history):
    response = reviewer_client.get("/activity/?kind=approvals", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results">')
    assert "<html" not in html


def test_activity_exports_its_filter(reviewer_client, history):
    response = reviewer_client.get("/activity/?kind=events&format=json")
    rows = json.loads(b"".join(response.streaming_content))
    assert {row["kind"] for row in rows} == {"event"}
    assert len(rows) == 2


def test_activity_export_streams_every_entry_in_time_order(reviewer_client, history, store):
    for n in range(120):  # more than a page
        store.add_event(
            "info", "low", f"tick {n}", created_at=f"2026-11-20T00:{n // 60:02d}:{n % 60:02d}Z"
        )
    response = reviewer_client.get("/activity/" + EVERY_KIND + "&format=json")
    rows = json.loads(b"".join(response.streaming_content))
    assert len(rows) == 2 + 120 + 1 + 1 + 1
    moments = [parse_iso(r["when"]) for r in rows]
    assert moments == sorted(moments, reverse=True)


def test_activity_levels_show_their_counts(reviewer_client, history):
    html = reviewer_client.get("/activity/").content.decode()
    assert 'Critical <span id="level-count-critical">(1)</span>' in html
    assert 'Low <span id="level-count-low">(1)</span>' in html
    assert 'Medium <span id="level-count-medium">(0)</span>' in html


def test_activity_query_count_does_not_grow_with_rows(reviewer_client, history, store):
    with CaptureQueriesContext(connection) as few:
        reviewer_client.get("/activity/" + EVERY_KIND)
    for n in range(80):  # more than a page of each kind, and rows in other time forms
        store.add_event("error", "high", f"e{n}", run_id=history.id)
        TaskEvent.objects.create(
            event_type="info", event_level="high", message=f"raw {n}",
            created_at=f"2026-11-24 08:{n % 60:02d}",
        )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        reviewer_client.get("/activity/" + EVERY_KIND)
    # Bounded by the sources, whatever the rows: at most two queries for each source's
    # newest keys (and one per chosen level), then its page rows and their links.
    assert len(many) <= len(few) <= 28


@pytest.mark.engine("sqlite")
def test_activity_reads_rows_in_other_time_forms_through_a_partial_index(history):
    from memory_app.overview.activity import _sources

    kinds = ["events", "approvals", "deploys", "profiles"]
    for levels in ([], ["high", "critical"]):
        for label, querysets, _ in _sources(kinds, levels, None):
            # The last query of each source reads the rows whose time is not canonical.
            with CaptureQueriesContext(connection) as captured:
                list(querysets[-1][:51])
            plan = " ".join(query_plan(captured.captured_queries[0]["sql"]))
            if label != "override":
                assert "_other_times" in plan, (label, plan)


def test_a_cached_activity_page_shows_another_writer_s_changes(reviewer_client, history):
    url = "/activity/" + EVERY_KIND
    assert "run <a" in body(reviewer_client.get(url))
    assert "nightly" in body(reviewer_client.get(url))  # from the cache
    with connection.cursor() as cursor:  # another writer renames the run behind the store
        cursor.execute(
            "UPDATE workflow_runs SET workflow_name = 'renamed' WHERE id = %s", [history.id]
        )
    html = body(reviewer_client.get(url))
    assert "renamed" in html
    assert "nightly" not in html
    TaskEvent.objects.create(
        event_type="error", event_level="critical", message="fresh trouble",
        created_at="2026-11-24T12:00:00+00:00",
    )  # fmt: skip
    assert "fresh trouble" in body(reviewer_client.get(url))


def test_the_sign_in_page_names_the_demo_logins_only_in_debug(client, settings):
    assert "demo-ops" not in client.get(reverse("login")).content.decode()
    settings.DEBUG = True
    html = client.get(reverse("login")).content.decode()
    assert "Demo logins (debug mode)" in html
    for name in ("demo-admin", "demo-reviewer", "demo-ops", "demo-profile-admin"):
        assert f"<code>{name}</code>" in html


def test_empty_states_read_as_sentences(reviewer_client, proposal):
    html = reviewer_client.get(reverse("memory_app:proposal", args=[proposal.pk])).content.decode()
    assert '<li class="muted empty">No decision has been recorded yet.</li>' in html
    assert '<li class="muted empty">This proposal has not been deployed.</li>' in html
    assert '<li class="muted">' not in html  # every empty state is marked as a sentence


def test_activity_shows_its_default_filters_as_chosen(reviewer_client, history):
    html = reviewer_client.get("/activity/").content.decode()
    for kind in ("events", "approvals", "deploys", "profiles"):
        assert f'name="kind" value="{kind}"' in html
        assert re.search(f'<input[^>]*name="kind" value="{kind}"[^>]*checked', html), kind
    checked = re.findall(r'<input[^>]*name="level" value="(\w+)"[^>]*checked', html)
    assert checked == ["high", "critical"]
    # What is checked is what is in effect: the same entries as asking for it outright.
    chosen = reviewer_client.get("/activity/" + EVERY_KIND + "&level=high&level=critical")
    default = reviewer_client.get("/activity/")
    assert [e.key for e in chosen.context["entries"]] == [e.key for e in default.context["entries"]]


def test_activity_names_an_event_s_type_once(reviewer_client, store):
    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s")
    store.add_event("policy", "critical", "policy guard stopped the step", run_id=run.id)
    store.add_event("error", "critical", "disk full", run_id=run.id)
    html = reviewer_client.get("/activity/").content.decode()
    assert '<span class="type">policy</span>' not in html
    assert "policy guard stopped the step" in html
    assert '<span class="type">error</span>' in html  # not said by its message


def test_activity_filtered_in_place_sends_the_level_counts_again(reviewer_client, history, store):
    store.add_event("info", "low", "another tick", run_id=history.id)
    html = reviewer_client.get("/activity/?level=low", HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<section id="results">')
    assert '<span id="level-count-low" hx-swap-oob="true">(2)</span>' in html
    assert '<span id="level-count-critical" hx-swap-oob="true">(1)</span>' in html


def test_activity_redirects_away_empty_parameters(reviewer_client, history):
    response = reviewer_client.get("/activity/?kind=&level=critical&after=")
    assert response.status_code == 302
    assert response["Location"] == "/activity/?level=critical"
    response = reviewer_client.get("/activity/?kind=&level=")
    assert response.status_code == 302
    assert response["Location"] == "/activity/"
