"""The activity timeline says when a decision or deploy counts
(memory_app/promotion/decision_time.py): an entry stands at the time it claims, and one that
counts at another time is marked and shows both ("dated 2036-01-01 ..., recorded 2026-12-06
..."), on the page, in its cached fragment and in its export, for a bounded number of queries
whatever the page holds."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from memory_app.models import Approval, DeployOutcome, Override
from memory_app.promotion import decision_log
from memory_app.timeutil import format_iso, parse_iso

pytestmark = pytest.mark.django_db

T0 = parse_iso("2026-12-06T09:00:00Z")
ACTIVITY = reverse("memory_app:activity")
DECISIONS = ACTIVITY + "?kind=approvals&kind=deploys"


def at(hours: float = 0, days: int = 0) -> str:
    return format_iso(T0 + timedelta(hours=hours, days=days))


@pytest.fixture
def validated(store, proposal, clock):
    """The high-risk proposal, validated by the store at T0; the clock stopped there."""
    clock.set(T0, ticking=False)
    store.record_validation(
        proposal.id, validator="ci", build_pass=True, lint_pass=True, test_pass=True,
        policy_pass=True,
    )  # fmt: skip
    cache.clear()
    return proposal


def dated_2036(proposal) -> Approval:
    """Another writer's approval, dated ten years ahead."""
    return Approval.objects.create(
        id="dated-2036", proposal=proposal, approver="ann", approval_type="human",
        decision="approved", decided_at="2036-01-01T00:00:00.000Z",
    )  # fmt: skip


def page(client, url=DECISIONS):
    response = client.get(url)
    return response.content.decode(), response.context["entries"]


def test_a_decision_dated_ahead_is_marked_with_when_it_counts(
    reviewer_client, store, validated, clock
):
    dated_2036(validated)
    clock.set(T0 + timedelta(hours=1), ticking=False)
    html, entries = page(reviewer_client)
    # Not taken in yet: it counts as of the moment of reading, and says so.
    # Dated ahead of now: marked so in words where it stands (``time_element``).
    assert (
        'dated <span class="ts-future" title="dated later than now">'
        '<time datetime="2036-01-01T00:00:00.000Z"'
    ) in html
    assert '</time> <span class="badge future">in the future</span></span>' in html
    assert f', not recorded yet, counts as of <time datetime="{at(1)}"' in html

    store.record_approval(validated.id, approver="bob", approval_type="policy",
                          decision="approved")  # fmt: skip  # takes it in at T0 + 1 h
    clock.set(T0 + timedelta(hours=2), ticking=False)
    html, entries = page(reviewer_client)  # the same row, a fragment keyed anew
    assert f', recorded <time datetime="{at(1)}"' in html
    assert "not recorded yet" not in html
    # It stands where it claims to (the timeline's order is the claimed one), marked.
    assert [(e.row.pk == "dated-2036", e.moved) for e in entries] == [(True, True), (False, False)]
    assert html.count("kind-approval moved") == 1
    assert html.count('class="ts-moved"') == 1  # the store's own decision counts as dated


def test_a_deploy_dated_back_shows_the_take_in_it_cannot_reach_behind(
    reviewer_client, store, validated, clock
):
    clock.set(T0 + timedelta(days=1), ticking=False)
    store.record_deploy_outcome(validated.id, deployment_target="canary", status="failed")
    clock.set(T0 + timedelta(days=2), ticking=False)
    DeployOutcome.objects.create(
        id="dated-back", proposal=validated, deployment_target="prod", status="succeeded",
        deployed_at=at(days=-1),
    )  # fmt: skip
    decision_log.take_in()
    html, entries = page(reviewer_client)
    assert [e.row.pk for e in entries][-1] == "dated-back"  # where it claims to be
    assert entries[-1].moved
    assert entries[-1].counted == at(days=1)
    assert f'dated <time datetime="{at(days=-1)}"' in html
    assert f', counted from <time datetime="{at(days=1)}"' in html


def test_the_export_carries_the_counted_time(reviewer_client, store, validated, clock):
    dated_2036(validated)
    clock.set(T0 + timedelta(hours=1), ticking=False)
    decision_log.take_in()
    store.add_event("error", "critical", "disk full", created_at=at(0.5))
    url = ACTIVITY + "?kind=approvals&kind=events&format=json"
    rows = json.loads(b"".join(reviewer_client.get(url).streaming_content))
    by_id = {row["id"]: row for row in rows}
    assert by_id["dated-2036"]["when"] == "2036-01-01T00:00:00.000Z"
    assert by_id["dated-2036"]["counted_at"] == at(1)
    assert [row["counted_at"] for row in rows if row["kind"] == "event"] == [None]


def audit_log_queries(captured) -> int:
    return sum("tommemory_audit_log" in q["sql"] for q in captured.captured_queries)


def test_the_counted_times_of_a_page_take_one_query_whatever_it_holds(
    reviewer_client, store, validated, clock
):
    url = ACTIVITY + "?kind=approvals&kind=deploys&kind=events"

    def one_of_each(n: int, decided_at: str) -> None:
        Approval.objects.create(
            proposal=validated, approver=f"p{n}", approval_type="human", decision="approved",
            decided_at=decided_at,
        )  # fmt: skip
        DeployOutcome.objects.create(
            proposal=validated, deployment_target="prod", status="failed", deployed_at=at(-n)
        )
        Override.objects.create(
            proposal=validated, actor=f"s{n}", reason="outage", decided_at=at(-n),
            proposal_sha256="0" * 64,
        )  # fmt: skip

    one_of_each(0, "2036-01-01")
    with CaptureQueriesContext(connection) as few:
        reviewer_client.get(url)
    assert audit_log_queries(few) == 1
    for n in range(1, 61):  # more than a page of each governed kind, logged or not, moved or not
        one_of_each(n, at(-n) if n % 2 else "2036-01-01")
        if n == 30:
            decision_log.take_in()
    with CaptureQueriesContext(connection) as many:
        entries = reviewer_client.get(url).context["entries"]
    assert {e.kind for e in entries} == {"approval", "deploy", "override"}
    assert all(e.counted for e in entries)
    assert audit_log_queries(many) == 1
    assert len(many) <= len(few)
