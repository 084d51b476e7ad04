"""Rows other writers made odd: every page answers 200, shows them as they are, escaped."""

import pytest
from django.db import connection
from django.urls import reverse

from memory_app.models import (
    Approval,
    BehaviorProfile,
    DeployOutcome,
    Proposal,
    Session,
    Skill,
    TaskEvent,
    Turn,
    WorkflowRun,
    WorkflowStep,
)
from tests.helpers import body

pytestmark = pytest.mark.django_db

ODD_IDS = [
    "a/b",
    "with space",
    "100%",
    "50%25",
    "ünï/会话",
    "..",
    "../x",
    "~tilde",
    "a?b#c",
    "/lead",
]
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
PAYLOAD = SCRIPT + IMG


@pytest.mark.parametrize("odd_id", ODD_IDS)
def test_pages_work_for_any_text_id(reviewer_client, store, odd_id):
    store.start_session("tom", session_id=odd_id)
    store.append_turn(odd_id, "user", "hello")
    store.start_workflow_run("w", trigger_source="cron", initiated_by="s", run_id=odd_id)
    session_url = reverse("memory_app:session", args=[odd_id])
    run_url = reverse("memory_app:workflow", args=[odd_id])
    session_page = reviewer_client.get(session_url)
    assert session_page.status_code == 200
    assert session_page.context["session"].pk == odd_id
    run_page = reviewer_client.get(run_url)
    assert run_page.status_code == 200
    assert run_page.context["run"].pk == odd_id
    # The links the list pages render lead back to the same rows.
    assert session_url in body(reviewer_client.get(reverse("memory_app:sessions")))
    assert run_url in body(reviewer_client.get(reverse("memory_app:workflows")))
    assert reviewer_client.get(session_url + "?format=json").status_code == 200


def test_dot_segment_ids_never_reach_the_browser_as_dot_segments():
    for odd_id in ["..", "../x", "a/./b"]:
        url = reverse("memory_app:session", args=[odd_id])
        assert "/../" not in url
        assert "/./" not in url
        assert not url.endswith("/../")


def test_a_damaged_encoded_id_is_404_not_500(reviewer_client):
    assert reviewer_client.get("/sessions/~%%%/").status_code == 404
    assert reviewer_client.get("/sessions/~ff/").status_code == 404


@pytest.fixture
def hostile(store):
    """HTML and script in every text field, odd roles, statuses, times and broken JSON."""
    session = Session.objects.create(
        id="s" + PAYLOAD, actor=PAYLOAD, channel=PAYLOAD, status=PAYLOAD,
        started_at=PAYLOAD, ended_at="2026-11-24 20:13:04.5+05:30", metadata_json=PAYLOAD,
    )  # fmt: skip
    Turn.objects.create(
        session=session, turn_index=0, role=PAYLOAD, content=PAYLOAD, created_at=PAYLOAD,
        metadata_json='{"x": "' + PAYLOAD.replace('"', '\\"') + '"}',
    )  # fmt: skip
    Turn.objects.create(
        session=session, turn_index=1, role="tool", content=PAYLOAD, created_at="2026-11-24",
        metadata_json="{broken",
    )  # fmt: skip
    run = WorkflowRun.objects.create(
        id="r" + PAYLOAD, workflow_name=PAYLOAD, trigger_source=PAYLOAD, initiated_by=PAYLOAD,
        status="running", started_at="2026-11-24T10:00:00+02:00", context_json=PAYLOAD,
    )  # fmt: skip
    step = WorkflowStep.objects.create(
        workflow_run=run, step_index=0, step_name=PAYLOAD, status=PAYLOAD,
        started_at="2026-11-24 08:00:00", details_json=PAYLOAD,
    )  # fmt: skip
    TaskEvent.objects.create(
        workflow_run=run, step=step, event_type=PAYLOAD, event_level=PAYLOAD, message=PAYLOAD,
        payload_json=PAYLOAD, created_at="2026-11-24T08:00:01Z",
    )  # fmt: skip
    TaskEvent.objects.create(
        workflow_run=run, event_type="info", event_level="critical", message=PAYLOAD,
        created_at="2026-11-24T08:00:02Z",
    )  # fmt: skip
    skill = Skill.objects.create(
        skill_key=PAYLOAD, description=PAYLOAD, source_type=PAYLOAD, confidence=0.5,
        learned_at=PAYLOAD,
    )  # fmt: skip
    proposal = Proposal.objects.create(
        skill=skill, proposed_by=PAYLOAD, proposal_type=PAYLOAD, proposal_json=PAYLOAD,
        risk_level="critical", status="validated", created_at=PAYLOAD, updated_at=PAYLOAD,
    )  # fmt: skip
    Approval.objects.create(
        proposal=proposal, approver=PAYLOAD, approval_type=PAYLOAD, decision=PAYLOAD,
        notes=PAYLOAD, decided_at="2026-11-24T09:00:00Z",
    )  # fmt: skip
    DeployOutcome.objects.create(
        proposal=proposal, deployment_target=PAYLOAD, status=PAYLOAD, summary=PAYLOAD,
        metrics_json=PAYLOAD, deployed_at="2026-11-24T09:30:00Z",
    )  # fmt: skip
    BehaviorProfile.objects.create(
        profile_name=PAYLOAD, version=1, behavior_json=PAYLOAD, rationale=PAYLOAD,
        source_ref=PAYLOAD, effective_from=PAYLOAD, created_at="2026-11-24T07:00:00Z",
        created_by=PAYLOAD,
    )  # fmt: skip
    return session, run


def hostile_pages(session, run) -> list[str]:
    session_url = reverse("memory_app:session", args=[session.pk])
    run_url = reverse("memory_app:workflow", args=[run.pk])
    return [
        reverse("memory_app:overview"),
        reverse("memory_app:activity"),
        reverse("memory_app:sessions"),
        reverse("memory_app:sessions") + "?q=script",
        reverse("memory_app:sessions") + "?q=%3Cscript%3E",
        session_url,
        session_url + "?turn=0",
        reverse("memory_app:workflows"),
        run_url,
        run_url + "?level=critical",
    ]


def test_every_page_answers_200_and_escapes_everything(reviewer_client, hostile):
    for url in hostile_pages(*hostile):
        for htmx in (False, True):
            extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
            response = reviewer_client.get(url, **extra)
            assert response.status_code == 200, url
            html = body(response)
            assert SCRIPT not in html, url
            assert "<img" not in html, url
            if not htmx:  # a fragment may hold no text field at all; the page always does
                assert "&lt;script&gt;" in html, url


def test_odd_values_are_shown_as_written(reviewer_client, hostile):
    session, _run = hostile
    html = body(reviewer_client.get(reverse("memory_app:session", args=[session.pk])))
    assert "role-other" in html
    assert "invalid JSON" in html
    assert 'title="not an ISO-8601 time"' in html
    assert '<time datetime="2026-11-24T14:43:04.500Z"' in html  # +05:30 read and shown in UTC


@pytest.mark.engine("sqlite")  # PostgreSQL's bigint column holds whole numbers only
@pytest.mark.parametrize("stored", ["1e999", "-1e999", "12.5", "twelve"])
def test_a_token_count_stored_as_text_leaves_the_session_list_whole(reviewer_client, store, stored):
    # SQLite adds text that reads as a number: "1e999" sums to infinity, no count at all.
    session = store.start_session("tom", channel="cli")
    store.append_turn(session.id, "user", "hello", token_count=5)
    turn = store.append_turn(session.id, "assistant", "hi", token_count=7)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE conversation_turns SET token_count = %s WHERE id = %s", [stored, turn.id]
        )
    page = reviewer_client.get(reverse("memory_app:sessions"))
    assert page.status_code == 200
    assert reviewer_client.get(reverse("memory_app:sessions") + "?format=csv").status_code == 200


@pytest.mark.engine("sqlite")  # PostgreSQL's primary key is never NULL
def test_a_turn_without_an_id_shows_on_its_transcript_without_an_annotate_link(
    reviewer_client, store
):
    # The v1 DDL lets another writer leave a turn's id NULL: it has no address to annotate.
    session = store.start_session("tom", channel="cli")
    store.append_turn(session.id, "user", "kept")
    turn = store.append_turn(session.id, "assistant", "no id here")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE conversation_turns SET id = NULL WHERE id = %s", [turn.id])
    page = reviewer_client.get(reverse("memory_app:session", args=[session.id]))
    assert page.status_code == 200
    assert "no id here" in body(page)
    assert body(page).count(">Annotate</a>") == 1  # the turn with an id; none borrowed
