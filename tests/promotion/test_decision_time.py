"""A writer cannot move a decision in time: every status reads a governed row at its counted
time (memory_app/promotion/decision_time.py), the time it claims held between moments the decision
log knows, and every page and store says the same status."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from memory_app.models import Approval, AuditLeaf, DeployOutcome, ValidationResult
from memory_app.promotion import decision_log, decision_time
from memory_app.timeutil import format_iso, instant_key, parse_iso

pytestmark = pytest.mark.django_db

T0 = parse_iso("2026-12-06T09:00:00Z")
QUEUE = reverse("memory_app:proposals")


def _text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def page_url(proposal) -> str:
    return reverse("memory_app:proposal", args=[proposal.pk])


@pytest.fixture
def medium(store, clock):
    """A validated medium-risk proposal (human + policy, 90 days), the clock stopped at T0."""
    clock.set(T0, ticking=False)
    skill = store.learn_skill("timed", "d", source_type="doc", confidence=0.5)
    proposal = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="config_change", proposal={"r": 1},
        risk_level="medium",
    )  # fmt: skip
    _validate(store, proposal)
    return proposal


def _validate(store, proposal, passed=True):
    store.record_validation(
        proposal.id, validator="ci", build_pass=True, lint_pass=True, test_pass=passed,
        policy_pass=True,
    )  # fmt: skip


def statuses(client, store, proposal, clock) -> dict[str, str]:
    """The status every place that derives one gives now."""
    cache.clear()  # the queue's facet counts
    detail = client.get(page_url(proposal))
    queue = json.loads(_text(client.get(QUEUE + "?format=json&status=")))
    at_now = client.get(page_url(proposal) + "?at=" + format_iso(clock()))
    return {
        "page": detail.context["verdict"].status,
        "queue": next(r["derived_status"] for r in queue if r["id"] == proposal.pk),
        "at now": at_now.context["status_at"],
        "store": store.proposal_status(proposal.id).status,
    }


def one(found: dict[str, str]) -> str:
    assert len(set(found.values())) == 1, found
    return next(iter(found.values()))


def _dated_2036_then_taken_in(store, medium, clock) -> None:
    """Another writer's human approval dated 2036; an hour after T0 bob's policy approval
    through the store takes it in (any governed write does): it counts from then on."""
    Approval.objects.create(
        id="dated-2036", proposal=medium, approver="ann", approval_type="human",
        decision="approved", decided_at="2036-01-01T00:00:00.000Z",
    )  # fmt: skip
    clock.set(T0 + timedelta(hours=1), ticking=False)
    store.record_approval(medium.id, approver="bob", approval_type="policy", decision="approved")


def test_a_decision_dated_in_the_future_counts_from_when_it_was_recorded(
    reviewer_client, store, medium, clock
):
    _dated_2036_then_taken_in(store, medium, clock)
    assert one(statuses(reviewer_client, store, medium, clock)) == "approved"
    html = _text(reviewer_client.get(page_url(medium)))
    # The claimed time, later than now, is marked so (time_element).
    assert 'dated <span class="ts-future" title="dated later than now"><time datetime="2036' in html
    assert ', recorded <time datetime="2026-12-06T10:00:00.000Z"' in html
    assert html.count('class="ts-moved"') == 1  # the store's own rows count as dated

    clock.set(T0 + timedelta(hours=1, days=90), ticking=False)  # exactly its lifetime
    assert one(statuses(reviewer_client, store, medium, clock)) == "approved"
    clock.set(T0 + timedelta(hours=1, days=90, milliseconds=1), ticking=False)
    assert one(statuses(reviewer_client, store, medium, clock)) == "validated"
    verdict = reviewer_client.get(page_url(medium)).context["verdict"]
    ann = next(v for v in verdict.decisions if v.approval.pk == "dated-2036")
    assert ann.expired
    assert ann.reason == "expired: given 90 days ago; approvals at medium risk count for 90 days"


def test_a_deploy_dated_back_cannot_re_age_expired_approvals(reviewer_client, store, medium, clock):
    store.record_approval(medium.id, approver="ann", approval_type="human", decision="approved")
    store.record_approval(medium.id, approver="bob", approval_type="policy", decision="approved")
    clock.set(T0 + timedelta(days=91), ticking=False)
    # Something recorded after the approvals expired (any take-in will do).
    assert decision_log.take_in() == 0  # nothing new: leaves no moment behind
    store.record_deploy_outcome(medium.id, deployment_target="canary", status="failed")
    clock.set(T0 + timedelta(days=92), ticking=False)
    DeployOutcome.objects.create(
        id="dated-back", proposal=medium, deployment_target="prod", status="succeeded",
        deployed_at=format_iso(T0 + timedelta(days=1)),
    )  # fmt: skip
    assert one(statuses(reviewer_client, store, medium, clock)) == "validated"
    decision_log.take_in()
    assert one(statuses(reviewer_client, store, medium, clock)) == "validated"
    lineage = store.proposal_lineage(medium.id)
    # It counts from the failed deploy's take-in, so it is the latest deploy.
    assert [d.pk for d in lineage.deploy_outcomes][-1] == "dated-back"
    assert decision_time.time_of(lineage.deploy_outcomes[-1], "deployed_at") == format_iso(
        T0 + timedelta(days=91)
    )
    html = _text(reviewer_client.get(page_url(medium)))
    assert ', counted from <time datetime="2027-03-07T09:00:00.000Z"' in html


def test_a_deploy_dated_back_before_anything_else_was_recorded_keeps_its_time(
    reviewer_client, store, medium, clock
):
    """The bound is the log's last take-in: nothing was recorded between the approvals and
    the deploy's claimed time, so it may have happened then (promoted, aged at it)."""
    store.record_approval(medium.id, approver="ann", approval_type="human", decision="approved")
    store.record_approval(medium.id, approver="bob", approval_type="policy", decision="approved")
    clock.set(T0 + timedelta(days=200), ticking=False)
    DeployOutcome.objects.create(
        id="in-the-gap", proposal=medium, deployment_target="prod", status="succeeded",
        deployed_at=format_iso(T0 + timedelta(days=2)),
    )  # fmt: skip
    assert one(statuses(reviewer_client, store, medium, clock)) == "promoted"


def test_an_unreadable_time_counts_from_when_the_log_saw_the_row(
    reviewer_client, store, medium, clock
):
    Approval.objects.create(
        id="odd", proposal=medium, approver="ann", approval_type="human", decision="approved",
        decided_at="last tuesday",
    )  # fmt: skip
    clock.set(T0 + timedelta(hours=2), ticking=False)
    store.record_approval(medium.id, approver="bob", approval_type="policy", decision="approved")
    assert one(statuses(reviewer_client, store, medium, clock)) == "approved"
    html = _text(reviewer_client.get(page_url(medium)))
    assert "last tuesday</span>, recorded <time" in html
    clock.set(T0 + timedelta(hours=2, days=91), ticking=False)
    assert one(statuses(reviewer_client, store, medium, clock)) == "validated"


def test_the_replay_places_rows_at_their_counted_times(reviewer_client, store, medium, clock):
    _dated_2036_then_taken_in(store, medium, clock)
    replay = reviewer_client.get(page_url(medium) + "?replay=steps").context["replay"]
    assert [(kind, when) for kind, when, _, _ in replay][-2:] == [
        ("decided", "2026-12-06T10:00:00.000Z"),
        ("decided", "2026-12-06T10:00:00.000Z"),
    ]
    assert replay[-1][-1] == "approved"
    at = reviewer_client.get(page_url(medium) + "?at=2026-12-06T09:30:00Z").context["status_at"]
    assert at == "validated"  # not yet recorded then, whatever it says


def test_the_queue_reads_counted_times_in_one_query_per_chunk(
    reviewer_client, store, medium, clock, django_assert_max_num_queries
):
    cache.clear()
    with django_assert_max_num_queries(30) as few:
        reviewer_client.get(QUEUE + "?status=")
    for n in range(5):
        Approval.objects.create(
            id=f"future-{n}", proposal=medium, approver=f"p{n}", approval_type="human",
            decision="approved", decided_at="2036-01-01",
        )  # fmt: skip
    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = reviewer_client.get(QUEUE + "?status=").context["rows"]
    assert rows[0].verdict.missing == ["policy"]  # the human approvals count (from now)


# --- every writer, every moment -----------------------------------------------------------

# A claimed time: in the past, in the future (days from the clock) or unreadable.
claims = st.one_of(
    st.integers(-400, 400).map(lambda days: format_iso(T0 + timedelta(days=days))),
    st.sampled_from(["last tuesday", "", "2026-02-30"]),
)
rows = st.tuples(st.sampled_from(["pass", "fail", "human", "policy", "reject", "deploy"]), claims)
steps = st.lists(
    st.one_of(rows, st.tuples(st.just("take in"), st.integers(1, 120))), min_size=1, max_size=8
)


def _write(proposal, n: int, kind: str, claimed: str) -> None:
    """One row another writer adds behind the stores (no evidence, not logged)."""
    if kind in ("pass", "fail"):
        ok = int(kind == "pass")
        ValidationResult.objects.create(
            id=f"v{n}", proposal=proposal, validator="ci", build_pass=1, lint_pass=1,
            test_pass=ok, policy_pass=1, validated_at=claimed,
        )  # fmt: skip
    elif kind == "deploy":
        DeployOutcome.objects.create(
            id=f"d{n}", proposal=proposal, deployment_target="prod", status="succeeded",
            deployed_at=claimed,
        )  # fmt: skip
    else:
        decision = "rejected" if kind == "reject" else "approved"
        Approval.objects.create(
            id=f"a{n}", proposal=proposal, approver=f"person-{n}",
            approval_type="human" if kind == "reject" else kind, decision=decision,
            notes="no" if kind == "reject" else None, decided_at=claimed,
        )  # fmt: skip


@given(steps=steps, later=st.integers(0, 200))
def test_every_page_and_store_give_one_status_and_counted_times_stay_in_bounds(
    reviewer_client, store, clock, steps, later
):
    with transaction.atomic():
        clock.set(T0, ticking=False)
        skill = store.learn_skill("prop", "d", source_type="doc", confidence=0.5)
        proposal = store.draft_proposal(
            skill.id, proposed_by="oxide", proposal_type="config_change", proposal={},
            risk_level="medium",
        )  # fmt: skip
        moment = T0
        for n, step in enumerate(steps):
            if step[0] == "take in":
                moment += timedelta(minutes=step[1])
                clock.set(moment, ticking=False)
                decision_log.take_in()
            else:
                _write(proposal, n, *step)
        clock.set(moment + timedelta(days=later), ticking=False)
        one(statuses(reviewer_client, store, proposal, clock))
        _assert_in_bounds(store.proposal_lineage(proposal.id), format_iso(clock()))
        transaction.set_rollback(True)


def _assert_in_bounds(lineage, now: str) -> None:
    """Each row counts between its bounds, computed here from the log alone."""
    log = list(AuditLeaf.objects.order_by("index"))
    governed = [
        *[("validation", v, "validated_at") for v in lineage.validations],
        *[("approval", a, "decided_at") for a in lineage.approvals],
        *[("deploy", d, "deployed_at") for d in lineage.deploy_outcomes],
    ]
    for kind, row, column in governed:
        entry = next((e for e in log if (e.kind, e.row_id) == (kind, row.pk)), None)
        if entry is None:  # not taken in: it came after the log's last take-in, whenever
            hi, lo = now, max((e.logged_at for e in log), default="")
        else:  # after the take-in before its own (those of its own share its logged_at)
            hi = entry.logged_at
            earlier = [e.logged_at for e in log if e.index < entry.index and e.logged_at < hi]
            lo = max(earlier, default="")
        counted = decision_time.time_of(row, column)
        claimed = instant_key(getattr(row, column))
        assert lo <= counted <= hi, (kind, claimed, lo, counted, hi)
        if not claimed:
            assert counted == hi
        elif lo <= claimed <= hi:
            assert counted == claimed  # within its bounds a row keeps its own time
