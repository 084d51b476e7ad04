"""The proposal queue, the lineage page and the decision form, per role."""

import json
import subprocess
import sys

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from memory_app.models import Approval, Proposal
from tests.helpers import (
    REPO,
    VALIDATED_PROPOSAL,
    body,
    count_queries,
    decide,
    drop_trigger,
    start_together,
    validate,
)

pytestmark = pytest.mark.django_db

QUEUE = reverse("memory_app:proposals")


def page_url(proposal) -> str:
    return reverse("memory_app:proposal", args=[proposal.pk])


def post_url(proposal) -> str:
    return reverse("memory_app:record_decision", args=[proposal.pk])


def approve(client, proposal, **extra):
    data = {"approval_type": "human", "decision": "approved", "notes": "", "token": "t-1"}
    return client.post(post_url(proposal), data | extra.pop("data", {}), **extra)


# --- roles --------------------------------------------------------------------------------


def test_reviewer_sees_no_form_and_cannot_post(reviewer_client, validated):
    html = body(reviewer_client.get(page_url(validated)))
    assert "Record decision" not in html
    response = approve(reviewer_client, validated)
    assert response.status_code == 403
    assert Approval.objects.count() == 0


def test_outsider_and_anonymous_cannot_post(client, outsider_client, validated):
    assert approve(outsider_client, validated).status_code == 403
    outsider_client.logout()
    response = approve(client, validated)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Approval.objects.count() == 0


def test_ops_records_a_decision_as_themselves_whatever_the_form_says(ops_client, ops, validated):
    response = approve(ops_client, validated, data={"approver": "mallory"})
    assert response.status_code == 302
    assert response["Location"] == page_url(validated)
    approval = Approval.objects.get()
    assert approval.approver == ops.username
    assert approval.decided_at.endswith("Z")


def test_superuser_may_decide(client, django_user_model, validated):
    admin = django_user_model.objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(admin)
    assert approve(client, validated).status_code == 302


def test_get_on_the_decision_url_is_not_allowed(ops_client, validated):
    assert ops_client.get(post_url(validated)).status_code == 405


def test_unknown_proposal_is_404(ops_client):
    assert ops_client.post("/proposals/nope/approvals/", {}).status_code == 404
    assert ops_client.get("/proposals/nope/").status_code == 404


# --- the form ---------------------------------------------------------------------------


def test_htmx_decision_swaps_in_the_whole_proposal_view(ops_client, ops, validated):
    response = approve(ops_client, validated, HTTP_HX_REQUEST="true")
    html = body(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="proposal">')
    assert "Decision chain intact (1 chained decision)" in html  # the chain badge
    assert 'hx-get="?replay=steps" hx-trigger="revealed"' in html  # the replay, when seen
    assert "✓ human: approved by" in html  # the rule line
    assert f"human by <strong>{ops.username}</strong>" in html
    assert "Recorded: human approved." in html
    assert "Still missing: policy, security." in html
    assert 'name="token"' in html
    assert 'value="t-1"' not in html  # a fresh token for the next decision


def test_reject_requires_notes(ops_client, validated):
    data = {"decision": "rejected", "token": "t-2"}
    response = approve(ops_client, validated, data=data)
    assert response.status_code == 422  # the page again, with the form's errors
    assert "a rejection needs notes" in body(response)
    htmx = approve(ops_client, validated, data=data, HTTP_HX_REQUEST="true")
    assert "a rejection needs notes" in body(htmx)
    assert Approval.objects.count() == 0


def test_refused_approval_says_why_once_and_writes_nothing(ops_client, store, proposal):
    validate(store, proposal, passed=False)
    response = approve(ops_client, proposal)
    assert response.status_code == 422
    assert body(response).count("does not pass all four checks") == 1
    htmx = body(approve(ops_client, proposal, HTTP_HX_REQUEST="true"))
    assert htmx.count("does not pass all four checks") == 1
    assert Approval.objects.count() == 0


def test_the_form_offers_only_a_rejection_while_checks_fail(ops_client, store, proposal):
    validate(store, proposal, passed=False)
    html = body(ops_client.get(page_url(proposal)))
    assert 'value="approved" required id="id_decision_0" disabled>' in html
    assert 'value="rejected" required id="id_decision_1" checked>' in html
    assert "only a rejection can be recorded" in html


def test_the_approval_type_defaults_to_a_missing_type_this_person_can_satisfy(
    ops_client, ops, store, validated
):
    decide(store, validated, "someone-else", "human")
    html = body(ops_client.get(page_url(validated)))
    assert '<option value="policy" selected>' in html
    decide(store, validated, ops.username, "policy")
    # At high risk each type needs another person: nothing left for ops to satisfy, so
    # nothing is offered to approve (tests/promotion/test_decision_form_offers.py).
    html = body(ops_client.get(page_url(validated)))
    assert "No approval of yours would count here" in html
    assert 'value="approved" required id="id_decision_0" disabled>' in html


def test_each_decision_says_whether_it_counts_and_the_rule_line_who_satisfied_what(
    reviewer_client, store, validated
):
    decide(store, validated, "ann", "human")
    decide(store, validated, "ann", "policy")
    html = body(reviewer_client.get(page_url(validated)))
    assert html.count('class="badge counts"') == 1
    assert html.count('class="badge does-not-count"') == 1
    assert "ann already counts as the human approval" in html
    assert "✓ human: approved by <strong>ann</strong>" in html
    assert "✗ policy: missing" in html
    assert "✗ security: missing" in html


def test_closed_proposal_shows_why_instead_of_a_form(ops_client, store, validated):
    decide(store, validated, "a", "human", "rejected", notes="no")
    html = body(ops_client.get(page_url(validated)))
    assert "decisions are accepted only while it is drafted or validated" in html
    assert 'name="decision"' not in html


def test_a_double_submit_records_one_decision(ops_client, validated):
    first = approve(ops_client, validated, HTTP_HX_REQUEST="true")
    second = approve(ops_client, validated, HTTP_HX_REQUEST="true")
    assert "Recorded" in body(first)
    assert "already submitted" in body(second)
    assert Approval.objects.count() == 1


def test_csrf_is_required_for_decisions(ops, validated):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops)
    assert approve(client, validated).status_code == 403
    client.get(page_url(validated))
    token = client.cookies["csrftoken"].value
    response = approve(client, validated, HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert Approval.objects.count() == 1


def test_page_carries_the_csrf_header_for_htmx(ops_client, validated):
    html = body(ops_client.get(page_url(validated)))
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_two_ops_deciding_at_once_are_both_recorded(shared_db):
    shared_db.executescript(VALIDATED_PROPOSAL.replace("{risk}", "medium"))
    start_at = start_together()
    deciders = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.decision_process", "p", who, kind, start_at],
            cwd=REPO,
            env=shared_db.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who, kind in [("alice", "human"), ("bob", "policy")]
    ]
    results = [d.communicate(timeout=120) for d in deciders]
    assert [d.returncode for d in deciders] == [0, 0], results
    # Serialised (SQLite: the IMMEDIATE transaction; PostgreSQL: the proposal's row lock):
    # the second to commit saw the first.
    assert sorted(out.strip() for out, _ in results) == ["approved", "validated"]
    assert shared_db.execute("SELECT COUNT(*) FROM approvals") == [(2,)]
    assert shared_db.execute("SELECT status FROM skill_to_logic_proposals") == [("approved",)]
    seqs = [r[0] for r in shared_db.execute("SELECT seq FROM tommemory_approval_evidence")]
    assert sorted(seqs) == [1, 2]


# --- the queue --------------------------------------------------------------------------


@pytest.fixture
def queue(store):
    made = {}
    for n, (risk, created) in enumerate(
        [("low", "2026-11-01"), ("critical", "2026-11-20"), ("critical", "2026-11-10"),
         ("medium", "2026-11-05")]
    ):  # fmt: skip
        skill = store.learn_skill(f"skill-{n}", "d", source_type="doc", confidence=0.5)
        made[n] = store.draft_proposal(
            skill.id, proposed_by="oxide" if n % 2 else "human", proposal_type="code_patch",
            proposal={}, risk_level=risk, created_at=created,
        )  # fmt: skip
    validate(store, made[1])
    decide(store, made[1], "alice", "human")
    decide(store, made[3], "bob", "human", "rejected", notes="no")
    return made


def test_queue_defaults_to_waiting_by_risk_then_age(reviewer_client, queue):
    response = reviewer_client.get(QUEUE)
    ids = [row.proposal.pk for row in response.context["rows"]]
    assert ids == [queue[2].pk, queue[1].pk, queue[0].pk]  # the rejected one is not waiting
    html = body(response)
    assert "still missing:" in html
    # Nobody here has the role that decides.
    assert "<strong>policy, security, ops</strong>: nobody can: no one has the role" in html
    assert html.count('class="check pass"') == 4
    assert "not validated" in html
    assert 'class="old"' in html


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("?status=", 4),
        ("?status=rejected", 1),
        ("?risk_level=critical", 2),
        ("?proposed_by=human", 2),
    ],
)
def test_queue_filters(reviewer_client, queue, query, count):
    assert len(reviewer_client.get(QUEUE + query).context["rows"]) == count


def test_queue_exports_and_keeps_queries_constant(reviewer_client, queue, store):
    rows = json.loads(body(reviewer_client.get(QUEUE + "?format=json&status=")))
    assert len(rows) == 4
    assert {r["missing"] for r in rows} >= {"policy security ops"}
    cache.clear()  # both counts with the facets counted afresh
    few = count_queries(reviewer_client, QUEUE + "?status=")
    for n in range(20):
        skill = store.learn_skill(f"more-{n}", "d", source_type="doc", confidence=0.5)
        p = store.draft_proposal(
            skill.id, proposed_by="oxide", proposal_type="code_patch", proposal={}, risk_level="low"
        )
        validate(store, p)
    cache.clear()
    assert count_queries(reviewer_client, QUEUE + "?status=") == few


# --- the lineage page -----------------------------------------------------------------------


def test_lineage_page_shows_everything_in_order(reviewer_client, store):
    skill = store.learn_skill(
        "summarise-logs", "d", source_type="doc", confidence=0.5, learned_at="2026-01-01"
    )
    validated = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch", risk_level="high",
        proposal={"diff": "--- a\n+++ b\n"}, created_at="2026-01-02",
    )  # fmt: skip
    validate(store, validated, at="2026-01-03")
    decide(store, validated, "alice", "human", decided_at="2999-01-01T00:00:00Z")
    response = reviewer_client.get(page_url(validated) + "?replay=steps")
    html = body(response)
    assert "summarise-logs" in html  # the skill
    assert '<span class="diff-file">--- a</span>' in html
    assert "Decision chain intact (1 chained decision)" in html
    kinds = [kind for kind, *_ in response.context["replay"]]
    assert kinds == ["learned", "drafted", "validated", "decided"]
    statuses = [status for *_, status in response.context["replay"]]
    assert statuses == ["not drafted yet", "drafted", "validated", "validated"]


def test_replay_answers_the_status_at_a_chosen_moment(reviewer_client, store, proposal, clock):
    clock.set("2999-01-01T00:00:00Z")  # validated then (and recorded then: decision_time)
    validate(store, proposal)
    html = body(reviewer_client.get(page_url(proposal) + "?at=2998-06-01", HTTP_HX_REQUEST="true"))
    assert html.lstrip().startswith('<div id="replay">')
    assert "the proposal was <strong>drafted</strong>" in html
    later = body(reviewer_client.get(page_url(proposal) + "?at=2999-02-01"))
    assert "the proposal was <strong>validated</strong>" in later
    bad = body(reviewer_client.get(page_url(proposal) + "?at=whenever"))
    assert "Enter an ISO-8601" in bad


def test_broken_chain_shows_on_the_page(reviewer_client, store, validated):
    approval = decide(store, validated, "alice", "human").approval
    drop_trigger("approvals_append_only_update")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE approvals SET notes = 'edited' WHERE id = %s", [approval.pk])
    html = body(reviewer_client.get(page_url(validated)))
    assert "Decision chain BROKEN" in html
    assert approval.pk in html


def test_proposal_page_query_count_is_constant(reviewer_client, store, validated):
    decide(store, validated, "a", "human")
    few = count_queries(reviewer_client, page_url(validated))
    decide(store, validated, "b", "policy")
    for _ in range(5):
        store.record_deploy_outcome(validated.id, deployment_target="x", status="failed")
    assert count_queries(reviewer_client, page_url(validated)) == few


def test_overview_links_waiting_proposals_by_risk(reviewer_client, queue):
    html = body(reviewer_client.get("/"))
    assert 'href="/proposals/?risk_level=critical">2</a>' in html
    assert "3 proposals waiting for a decision" in html


def test_odd_proposal_ids_work(reviewer_client, store):
    skill = store.learn_skill("k", "d", source_type="doc", confidence=0.5)
    for odd in ["p/1 %", "..", "ü/../x"]:
        proposal = store.draft_proposal(
            skill.id, proposed_by="oxide", proposal_type="code_patch", proposal={},
            risk_level="low", proposal_id=odd,
        )  # fmt: skip
        assert reviewer_client.get(page_url(proposal)).context["proposal"].pk == odd
    assert Proposal.objects.count() == 3


def test_the_proposer_cannot_approve_their_own_proposal_and_is_told_at_the_form(
    ops_client, ops, validated
):
    # Another writer names the person who proposed it.
    Proposal.objects.filter(pk=validated.pk).update(proposed_by=ops.username)
    html = body(ops_client.get(page_url(validated)))
    assert f"{ops.username} proposed this and cannot approve their own proposal" in html
    assert 'value="approved" required id="id_decision_0" disabled>' in html
    refused = approve(ops_client, validated, HTTP_HX_REQUEST="true")
    assert "cannot approve their own proposal" in body(refused)
    assert Approval.objects.count() == 0
    rejected = approve(ops_client, validated, data={"decision": "rejected", "notes": "not yet"})
    assert rejected.status_code == 302
    assert list(Approval.objects.values_list("approver", "decision")) == [
        (ops.username, "rejected")
    ]


def test_an_expired_approval_is_shown_expired_with_its_age(reviewer_client, store, proposal, clock):
    Proposal.objects.filter(pk=proposal.pk).update(risk_level="critical")
    today = clock()
    clock.set("2020-01-01T00:00:00Z")  # validated and decided then
    validate(store, proposal)
    decide(store, proposal, "rita", "human")
    clock.set(today)
    html = body(reviewer_client.get(page_url(proposal)))
    assert '<span class="badge expired">expired</span>' in html
    assert "expired: given " in html
    assert " days ago; approvals at critical risk count for 14 days" in html
    assert "✗ human: missing" in html


def test_the_replay_is_computed_when_asked_for(reviewer_client, store, validated):
    decide(store, validated, "alice", "human")
    page = reviewer_client.get(page_url(validated))
    assert page.context["replay"] is None  # a lazy placeholder, with a link beside it
    assert '<a href="?replay=steps#replay">Show the status after each step</a>' in body(page)
    steps = reviewer_client.get(page_url(validated) + "?replay=steps", HTTP_HX_REQUEST="true")
    html = body(steps)
    assert html.lstrip().startswith('<div id="replay">')
    assert [kind for kind, *_ in steps.context["replay"]] == [
        "learned",
        "drafted",
        "validated",
        "decided",
    ]
