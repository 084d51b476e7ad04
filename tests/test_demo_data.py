"""seed_demo: every table, every status, deterministic; demo_users prints the logins."""

import functools
import hashlib
import itertools
from datetime import UTC, datetime
from io import StringIO

import hypothesis
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models.functions import Length
from django.urls import reverse
from hypothesis import strategies as st

from demo.builder import LONG_EVERY, SCENARIOS, DemoBuilder, DemoSize
from memory_app.accounts import DEMO_USERS
from memory_app.fields import TimestampField
from memory_app.models import (
    V1_MODELS,
    Annotation,
    AnnotationScore,
    Approval,
    ApprovalEvidence,
    BehaviorProfile,
    DeployOutcome,
    FindingEvidence,
    Override,
    Proposal,
    ReviewQueue,
    ReviewQueueConfig,
    ReviewQueueItem,
    ReviewReservation,
    ScoreConfig,
    Session,
    TaskEvent,
    Turn,
    ValidationResult,
    WorkflowRun,
)
from memory_app.promotion import needs, rule
from memory_app.store import RuntimeMemoryStore
from memory_app.timeutil import format_iso, instant_key, parse_iso
from tests.helpers import audit_triggers_lifted

pytestmark = pytest.mark.django_db

ALL = V1_MODELS
ANCHOR = datetime(2026, 11, 24, 12, tzinfo=UTC)
SMALL = ["--sessions=12", "--turns=9", "--runs=20", "--skills=20", "--anchor=2026-11-24T12:00Z"]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *SMALL, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def digest() -> str:
    """A hash of every v1 row, in a stable order."""
    h = hashlib.sha256()
    with connection.cursor() as cursor:
        for model in ALL:
            cursor.execute(f"SELECT * FROM {model._meta.db_table} ORDER BY id")
            h.update(repr(cursor.fetchall()).encode())
    return h.hexdigest()


# The review demo's tables, each before the tables it points to.
REVIEW = [
    FindingEvidence, AnnotationScore, ReviewReservation, Annotation, ReviewQueueItem,
    ReviewQueueConfig, ReviewQueue, ScoreConfig,
]  # fmt: skip


def wipe() -> None:
    """Empty the v1 tables (and the evidence and review rows beside them) for a second
    seeding."""
    with audit_triggers_lifted() as cursor:
        cursor.execute("DELETE FROM tommemory_approval_evidence")
        cursor.execute("DELETE FROM tommemory_audit_log")
        for model in REVIEW:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
        for model in reversed(ALL):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")


def test_seed_fills_every_table_with_every_status():
    output = seed()
    for model in ALL:
        assert model.objects.exists(), model
        assert model._meta.db_table in output
    assert Turn.objects.count() == 12 * 9
    assert set(Proposal.objects.values_list("status", flat=True)) == {
        "drafted",
        "validated",
        "rejected",
        "approved",
        "promoted",
    }
    assert set(TaskEvent.objects.values_list("event_level", flat=True)) == {
        "low",
        "medium",
        "high",
        "critical",
    }
    assert set(Turn.objects.values_list("role", flat=True)) >= {"system", "user", "assistant"}
    assert {"running", "succeeded"} <= set(WorkflowRun.objects.values_list("status", flat=True))
    assert Session.objects.filter(status="active").exists()
    assert Approval.objects.filter(decision="rejected").exclude(notes=None).exists()


def test_seeded_profiles_have_contiguous_windows_and_one_open_version():
    seed()
    store = RuntimeMemoryStore()
    versions = list(BehaviorProfile.objects.versions_of("tom"))
    assert [v.version for v in versions] == [4, 3, 2, 1]
    for newer, older in itertools.pairwise(versions):
        assert older.effective_to == newer.effective_from
    assert versions[0].effective_to is None
    assert store.latest_active_behavior_profile("tom", "2026-11-24T12:00Z").version == 4
    assert store.latest_active_personality_profile("tom", "2026-11-24T12:00Z").version == 3


def test_same_seed_and_anchor_give_the_same_rows():
    seed()
    first = digest()
    wipe()
    seed()
    assert digest() == first
    wipe()
    seed("--seed=7")
    assert digest() != first


def test_the_demo_has_a_queue_two_reviewers_scored_and_a_finding_waiting_for_ops(
    reviewer_client,
):
    """The review demo (demo/review.py): progress and agreement to see on the queue, and
    a validated finding ops can decide, its reviewer named as its proposer."""
    seed()
    queue = ReviewQueue.objects.get()
    reviewers = [name for name, role in DEMO_USERS if role == "reviewer"]
    assert queue.items.count() == 10
    authors = queue.annotations().values_list("author", flat=True)
    assert sorted(set(authors)) == sorted(reviewers)
    assert len(authors) == 6 * len(reviewers)
    page = reviewer_client.get(reverse("memory_app:review_queue", args=[queue.pk]))
    measured = {config.name: a.value for config, a in page.context["agreements"]}
    assert set(measured) == {"correctness", "helpfulness", "safe"}
    assert None not in measured.values()
    evidence = FindingEvidence.objects.select_related("proposal", "annotation").get()
    verdict = rule.verdict_for(evidence.proposal)
    assert verdict.status == "validated"
    assert verdict.proposers == ("human", evidence.annotation.author)
    ops_people = [name for name, role in DEMO_USERS if role == "ops"]
    assert verdict.types_open_to(ops_people[0]) == verdict.missing == ["human", "policy"]
    assert not verdict.types_open_to(evidence.annotation.author)
    late = [a for a in Annotation.objects.all() if parse_iso(a.created_at) > ANCHOR]
    assert not late


def test_if_empty_leaves_a_filled_database_alone():
    seed()
    before = Turn.objects.count()
    assert "not added" in seed("--if-empty")
    assert Turn.objects.count() == before


def test_bad_options_are_refused():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", "--sessions=0", stdout=StringIO())
    with pytest.raises(CommandError, match="anchor"):
        call_command("seed_demo", "--anchor=tomorrow", stdout=StringIO())
    assert not Session.objects.exists()


def test_demo_users_exist_in_their_roles_and_are_printed(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("demo_users", stdout=out)
    call_command("demo_users", stdout=StringIO())  # idempotent
    assert "demo-ops" in out.getvalue()
    assert "password: tommemory-demo" in out.getvalue()
    assert User.objects.get(username="demo-admin").is_superuser
    assert list(User.objects.get(username="demo-ops").groups.values_list("name", flat=True)) == [
        "ops"
    ]
    assert User.objects.get(username="demo-reviewer").check_password("tommemory-demo")


def test_demo_people_can_finish_a_proposal_of_every_risk_level(client, settings, store):
    """Each required type from a different person (contract/governance.json): the demo's
    ops logins alone give every type every level requires, as the rule counts them, and
    the sign-in page lists each of them."""
    settings.DEBUG = True
    call_command("demo_users", stdout=StringIO())
    ops_people = [name for name, role in DEMO_USERS if role == "ops"]
    required = rule.current_rule().required
    for risk in required:
        skill = store.learn_skill(f"finish-{risk}", "d", source_type="doc", confidence=0.5)
        proposal = store.draft_proposal(
            skill.id, proposed_by="oxide", proposal_type="code_patch", proposal={},
            risk_level=risk,
        )  # fmt: skip
        store.record_validation(
            proposal.id, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1
        )
        verdict = rule.verdict_for(proposal)
        while verdict.missing:
            kind = verdict.missing[0]
            givers = verdict.who_can_give(kind, needs.decider_names())
            person = next(name for name in givers if name in ops_people)
            verdict = store.record_approval(
                proposal.id, approver=person, approval_type=kind, decision="approved"
            ).verdict
        assert verdict.status == "approved", risk
        approvers = Approval.objects.filter(proposal_id=proposal.id).values_list(
            "approver", flat=True
        )
        if rule.current_rule().needs_distinct_people(risk):
            assert len(set(approvers)) == len(required[risk]), risk
    sign_in = client.get(reverse("login")).content.decode()
    for name in ops_people:
        assert f"<code>{name}</code>: ops" in sign_in


def test_demo_users_refused_outside_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="known password"):
        call_command("demo_users", stdout=StringIO())
    assert not User.objects.filter(username__startswith="demo-").exists()


def assert_every_state_a_reviewer_should_see(verdicts: list[rule.Verdict]) -> None:
    statuses = {v.status for v in verdicts}
    assert statuses == {"drafted", "validated", "rejected", "approved", "promoted"}
    missing_first = {tuple(v.missing)[:1] for v in verdicts if v.status == "validated"}
    assert {("human",), ("policy",), ("security",), ("ops",)} <= missing_first
    assert any(d.stale for v in verdicts for d in v.decisions)
    assert any(not v.latest_validation.all_passed for v in verdicts if v.latest_validation)
    assert any(v.bypassed for v in verdicts)  # break-glass
    assert any(d.expired for v in verdicts for d in v.decisions)
    assert any(
        d.counted and d.approval.decision == "approved" for v in verdicts for d in v.decisions
    )


def test_demo_shows_every_state_a_reviewer_should_see():
    seed("--skills=22")
    proposals = list(Proposal.objects.all())
    verdicts = [rule.verdict_for(p, now=ANCHOR) for p in proposals]
    assert_every_state_a_reviewer_should_see(verdicts)
    assert DeployOutcome.objects.filter(status="rolled_back").exists()
    # Every stored status is the one the rule derives at the anchor.
    assert [v.status for v in verdicts] == [p.status for p in proposals]


def built(anchor: datetime, seed: int) -> dict[type, list]:
    """Every row the demo builds for an anchor and seed, as unsaved model instances."""
    size = DemoSize(sessions=LONG_EVERY, turns=3, runs=8, skills=len(SCENARIOS))
    tables: dict[type, list] = {}
    for _label, model, rows, _done, _total in DemoBuilder(size, seed, anchor).batches():
        tables.setdefault(model, []).extend(model(*row) for row in rows)
    return tables


def verdicts_of(tables: dict[type, list], anchor: datetime) -> list[rule.Verdict]:
    """The rule applied at the anchor to each built proposal's rows, without a database."""

    def of(model, proposal):
        return [row for row in tables.get(model, []) if row.proposal_id == proposal.pk]

    evidence = {e.approval_id: e for e in tables[ApprovalEvidence]}
    return [
        rule.evaluate(
            p, of(ValidationResult, p), of(Approval, p), of(DeployOutcome, p), evidence,
            of(Override, p), now=anchor,
        )
        for p in tables[Proposal]
    ]  # fmt: skip


# Anchors a calendar makes awkward: month and year ends, leap days, a century's non-leap day.
AWKWARD_ANCHORS = [
    "2026-12-31T23:59:59.999Z",
    "2027-01-31T00:00:00.000Z",
    "2028-02-29T12:00:00.000Z",
    "2000-02-29T00:00:00.000Z",
    "2100-02-28T23:59:00.000Z",
    "2026-03-29T01:30:00.000Z",
]


@pytest.mark.django_db(transaction=False)
@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(
    anchor=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
    ),
    seed=st.integers(min_value=0, max_value=2**32),
)
@functools.reduce(
    lambda test, anchor: hypothesis.example(anchor=parse_iso(anchor), seed=42)(test),
    AWKWARD_ANCHORS,
    lambda f: f,
)
def test_any_anchor_and_seed_give_every_state_and_nothing_after_the_anchor(anchor, seed):
    tables = built(anchor, seed)
    bound = format_iso(anchor)
    for model, rows in tables.items():
        times = [f.attname for f in model._meta.local_fields if isinstance(f, TimestampField)]
        for row, name in itertools.product(rows, times):
            value = getattr(row, name)
            assert value is None or instant_key(value) <= bound, (model.__name__, name, value)
    verdicts = verdicts_of(tables, anchor)
    assert_every_state_a_reviewer_should_see(verdicts)
    assert [v.status for v in verdicts] == [p.status for p in tables[Proposal]]


def test_demo_conversations_answer_after_the_question_in_its_language():
    seed("--sessions=120", "--turns=20")
    lengths = [s.turns.count() for s in Session.objects.all()]
    assert max(lengths) > 300  # a few sessions long enough to page
    assert Turn.objects.alias(length=Length("content")).filter(length__gt=10_000).exists()
    for session in Session.objects.all()[:40]:
        roles = list(session.turns.order_by("turn_index").values_list("role", flat=True))
        assert roles[0] == "system"
        for before, after in itertools.pairwise(roles):
            if after == "assistant":
                assert before in ("user", "tool")
    languages = "".join(Turn.objects.filter(role="user").values_list("content", flat=True)[:500])
    for sample in ("Wie", "Résumé", "Покажи", "请", "昨日"):
        assert sample in languages
