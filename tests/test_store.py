"""RuntimeMemoryStore: every write, every refusal, and the minimum v1 query set."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memory_app.models import (
    BehaviorProfile,
    PersonalityProfile,
    Proposal,
    Session,
    TaskEvent,
    Turn,
    ValidationResult,
    WorkflowStep,
)
from memory_app.store import InvalidInput, NotFound
from tests.helpers import query_plan, table_scans

pytestmark = pytest.mark.django_db

ODD_IDS = ["a/b", "with space", "100%", "ünïcødé-会话", "../..", "<script>"]


# --- conversations ---------------------------------------------------------------------


def test_turns_get_gap_free_indexes_in_order(store, session_with_turns):
    replay = store.session_replay(session_with_turns.id)
    assert [t.turn_index for t in replay.turns] == [0, 1, 2]
    assert [t.role for t in replay.turns] == ["system", "user", "assistant"]
    assert replay.session == session_with_turns


def test_new_rows_get_uuid7_ids_and_canonical_timestamps(store):
    session = store.start_session("tom", started_at="2026-11-24 21:13:04+01:00")
    assert session.id[14] == "7"
    assert session.started_at == "2026-11-24T20:13:04.000Z"
    assert json.loads(Session.objects.get(pk=session.pk).metadata_json) == {}


@pytest.mark.parametrize("odd_id", ODD_IDS)
def test_any_text_id_works_through_writes_and_replay(store, odd_id):
    store.start_session("tom", session_id=odd_id)
    store.append_turn(odd_id, "user", "hi")
    assert [t.content for t in store.session_replay(odd_id).turns] == ["hi"]
    store.end_session(odd_id)
    assert Session.objects.get(pk=odd_id).status == "ended"


def test_end_session_records_status_and_time(store, session_with_turns):
    session = store.end_session(session_with_turns.id, status="failed", ended_at="2026-11-24")
    assert (session.status, session.ended_at) == ("failed", "2026-11-24T00:00:00.000Z")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "robot"}, "role must be one of"),
        ({"metadata": [1, 2]}, "must be a JSON object"),
        ({"metadata": "{not json"}, "not valid JSON"),
        ({"token_count": -1}, "non-negative integer"),
        ({"created_at": "last tuesday"}, "ISO-8601"),
        ({"content": None}, "content must be text"),
    ],
)
def test_bad_turn_is_refused_and_nothing_written(store, session_with_turns, kwargs, message):
    call = {"role": "user", "content": "hi"} | kwargs
    with pytest.raises(InvalidInput, match=message):
        store.append_turn(session_with_turns.id, call.pop("role"), call.pop("content"), **call)
    assert Turn.objects.count() == 3


def test_unknown_session_is_refused_by_name(store):
    with pytest.raises(NotFound, match="no sessions row with id 'nope'"):
        store.append_turn("nope", "user", "hi")
    with pytest.raises(NotFound):
        store.session_replay("nope")
    assert Turn.objects.count() == 0


def test_bad_session_values_are_refused(store, session_with_turns):
    with pytest.raises(InvalidInput, match="actor"):
        store.start_session("")
    with pytest.raises(InvalidInput, match="session status"):
        store.end_session(session_with_turns.id, status="done")
    assert Session.objects.get(pk=session_with_turns.pk).status == "active"


# --- workflows -------------------------------------------------------------------------


@pytest.fixture
def run(store):
    run = store.start_workflow_run(
        "nightly-digest", trigger_source="cron", initiated_by="scheduler", context={"k": 1}
    )
    first = store.add_step(run.id, "collect", started_at="2026-11-24T10:00:00Z")
    second = store.add_step(run.id, "summarise", started_at="2026-11-24T10:01:00Z")
    store.add_event("info", "low", "run started", run_id=run.id, created_at="2026-11-24T09:59Z")
    # Another writer's forms: a space and an offset, out of text order.
    store.add_event("warn", "high", "slow source", step_id=first.id)
    TaskEvent.objects.create(
        step=second,
        workflow_run=None,
        event_type="error",
        event_level="critical",
        message="step-only link from another writer",
        created_at="2026-11-24 11:05:00+01:00",
    )
    TaskEvent.objects.create(
        workflow_run=run,
        event_type="info",
        event_level="medium",
        message="run-level, space form",
        created_at="2026-11-24 09:59:30",
    )
    store.finish_step(first.id, status="succeeded")
    store.finish_workflow_run(run.id, status="failed")
    return run


def test_workflow_replay_orders_steps_and_events(store, run):
    replay = store.workflow_replay(run.id)
    assert replay.run.status == "failed"
    assert [s.step.step_index for s in replay.steps] == [0, 1]
    assert [s.step.step_name for s in replay.steps] == ["collect", "summarise"]
    assert [e.message for e in replay.steps[0].events] == ["slow source"]
    assert [e.message for e in replay.steps[1].events] == ["step-only link from another writer"]
    assert [e.message for e in replay.run_events] == ["run started", "run-level, space form"]


def test_event_with_step_of_another_run_is_refused(store, run):
    other = store.start_workflow_run("other", trigger_source="api", initiated_by="x")
    step = WorkflowStep.objects.filter(workflow_run=run).first()
    before = TaskEvent.objects.count()
    with pytest.raises(InvalidInput, match="belongs to run"):
        store.add_event("info", "low", "m", run_id=other.id, step_id=step.id)
    with pytest.raises(InvalidInput, match="event_level"):
        store.add_event("info", "severe", "m", run_id=run.id)
    with pytest.raises(NotFound):
        store.add_event("info", "low", "m", run_id="missing")
    assert TaskEvent.objects.count() == before


def test_run_status_values_are_checked(store, run):
    with pytest.raises(InvalidInput, match="starts queued or running"):
        store.start_workflow_run("x", trigger_source="cron", initiated_by="y", status="failed")
    with pytest.raises(InvalidInput, match="trigger_source"):
        store.start_workflow_run("x", trigger_source="telepathy", initiated_by="y")
    with pytest.raises(InvalidInput, match="finishes"):
        store.finish_workflow_run(run.id, status="running")


# --- skills and the promotion flow -----------------------------------------------------


def _validate(store, proposal, passed=True):
    return store.record_validation(
        proposal.id,
        validator="ci",
        build_pass=True,
        lint_pass=True,
        test_pass=passed,
        policy_pass=True,
        details={"log": "ok"},
    )


def test_validation_that_passes_all_checks_validates_a_draft(store, proposal):
    _validate(store, proposal, passed=False)
    assert Proposal.objects.get(pk=proposal.pk).status == "drafted"
    _validate(store, proposal, passed=True)
    assert Proposal.objects.get(pk=proposal.pk).status == "validated"


def test_rejection_without_notes_is_refused(store, proposal):
    with pytest.raises(InvalidInput, match="needs notes"):
        store.record_approval(
            proposal.id, approver="oscar", approval_type="ops", decision="rejected", notes=" "
        )
    assert proposal.approvals.count() == 0


def test_successful_deploy_promotes_an_approved_proposal(store, proposal):
    _validate(store, proposal)
    for person, kind in [("ann", "human"), ("bob", "policy"), ("cy", "security")]:
        store.record_approval(proposal.id, approver=person, approval_type=kind, decision="approved")
    assert Proposal.objects.get(pk=proposal.pk).status == "approved"
    store.record_deploy_outcome(proposal.id, deployment_target="prod", status="failed")
    assert Proposal.objects.get(pk=proposal.pk).status == "approved"
    store.record_deploy_outcome(
        proposal.id, deployment_target="prod", status="succeeded", metrics={"p95_ms": 120}
    )
    assert Proposal.objects.get(pk=proposal.pk).status == "promoted"


def test_bad_promotion_flow_input_is_refused(store, proposal):
    with pytest.raises(InvalidInput, match="confidence"):
        store.learn_skill("k", "d", source_type="doc", confidence=1.5)
    with pytest.raises(InvalidInput, match="source_type"):
        store.learn_skill("k", "d", source_type="dream", confidence=0.5)
    with pytest.raises(InvalidInput, match="risk_level"):
        store.draft_proposal(
            proposal.skill_id, proposed_by="oxide", proposal_type="code_patch", proposal={},
            risk_level="extreme",
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="must be a JSON object"):
        store.draft_proposal(
            proposal.skill_id, proposed_by="oxide", proposal_type="code_patch", proposal="[]",
            risk_level="low",
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="build_pass"):
        store.record_validation(
            proposal.id, validator="ci", build_pass="yes", lint_pass=1, test_pass=1, policy_pass=1
        )
    with pytest.raises(InvalidInput, match="approval_type"):
        store.record_approval(proposal.id, approver="o", approval_type="vibes", decision="approved")
    with pytest.raises(InvalidInput, match="deploy status"):
        store.record_deploy_outcome(proposal.id, deployment_target="prod", status="meh")
    assert Proposal.objects.count() == 1
    assert ValidationResult.objects.count() == 0
    assert proposal.approvals.count() == 0


def test_proposal_lineage_in_eight_queries(store, proposal, django_assert_num_queries, clock):
    # One moment for every write: the decision log sees each row at once, so a time given
    # in the past counts as given (decision_time), and the order below is the claimed one.
    clock.set(clock(), ticking=False)
    _validate(store, proposal)
    store.record_approval(
        proposal.id, approver="a", approval_type="human", decision="approved",
        decided_at="2026-11-24T12:00:00Z",
    )  # fmt: skip
    store.record_approval(
        proposal.id, approver="b", approval_type="policy", decision="approved",
        decided_at="2026-11-24 11:00:00",
    )  # fmt: skip
    store.record_deploy_outcome(proposal.id, deployment_target="prod", status="failed")
    # proposal, validations, approvals with evidence, deploys, overrides, the decision log's
    # moments, skill, changes
    with django_assert_num_queries(8):
        lineage = store.proposal_lineage(proposal.id)
        assert lineage.skill.skill_key == "summarise-logs"
    assert lineage.proposal == proposal
    assert len(lineage.validations) == 1
    assert [a.approver for a in lineage.approvals] == ["b", "a"]
    assert [d.status for d in lineage.deploy_outcomes] == ["failed"]
    with pytest.raises(NotFound):
        store.proposal_lineage("missing")


# --- profiles --------------------------------------------------------------------------


def test_publish_closes_the_open_window_at_the_new_start(store, back_then):
    with back_then():
        v1 = store.publish_behavior_profile(
            "tom", {"tone": "calm"}, created_by="paula", effective_from="2026-01-01T00:00:00Z"
        )
        v2 = store.publish_behavior_profile(
            "tom",
            {"tone": "brisk"},
            created_by="paula",
            rationale="faster",
            effective_from="2026-02-01",
        )
    v1.refresh_from_db()
    assert (v1.version, v2.version) == (1, 2)
    assert v1.effective_to == v2.effective_from == "2026-02-01T00:00:00.000Z"
    assert v2.effective_to is None
    assert json.loads(v2.behavior_json) == {"tone": "brisk"}


def test_latest_active_profile_respects_windows(store, back_then):
    with back_then():
        for month in (1, 3, 6):
            store.publish_personality_profile(
                "tom", {"m": month}, created_by="p", effective_from=f"2026-{month:02d}-01T00:00Z"
            )
    pick = store.latest_active_personality_profile
    assert pick("tom", "2025-12-31T23:59:59Z") is None
    assert pick("tom", "2026-01-01T00:00:00Z").version == 1
    assert pick("tom", "2026-02-28").version == 1
    assert pick("tom", "2026-03-01").version == 2
    assert pick("tom", "2030-01-01").version == 3
    assert pick("tom").version == 3
    assert pick("nobody") is None


def test_effective_windows_compare_as_instants_across_writers(store):
    """Text comparison would pick wrongly here: space form and offsets sort differently."""
    rows = [
        (1, "2026-05-01 00:00:00", "2026-05-01T12:00:00+02:00"),  # ends 10:00Z
        (2, "2026-05-01T12:00:00+02:00", None),  # starts 10:00Z
    ]
    for version, start, end in rows:
        BehaviorProfile.objects.create(
            profile_name="tom", version=version, behavior_json="{}", effective_from=start,
            effective_to=end, created_at=start, created_by="other-writer",
        )  # fmt: skip
    pick = store.latest_active_behavior_profile
    assert pick("tom", "2026-05-01T09:59:59Z").version == 1
    assert pick("tom", "2026-05-01T10:00:00Z").version == 2
    assert pick("tom", "2026-05-01 11:00:00").version == 2


def test_unparseable_window_is_never_active(store):
    BehaviorProfile.objects.create(
        profile_name="tom", version=1, behavior_json="{}", effective_from="someday",
        created_at="x", created_by="other",
    )  # fmt: skip
    assert store.latest_active_behavior_profile("tom") is None


def test_future_version_is_scheduled_not_active(store, back_then):
    with back_then():
        store.publish_behavior_profile("tom", {}, created_by="p", effective_from="2026-01-01")
    store.publish_behavior_profile("tom", {"v": 2}, created_by="p", effective_from="2999-01-01")
    assert store.latest_active_behavior_profile("tom").version == 1
    assert store.latest_active_behavior_profile("tom", "2999-06-01").version == 2


@pytest.mark.parametrize(
    ("document", "start", "message"),
    [
        ("{broken", "2026-03-01", "not valid JSON"),
        ('["a list"]', "2026-03-01", "must be a JSON object"),
        ({"ok": True}, "2026-01-15", "must start after it"),
        ({"ok": True}, "soon", "ISO-8601"),
    ],
)
def test_refused_publish_changes_nothing(store, back_then, document, start, message):
    with back_then():
        store.publish_behavior_profile("tom", {"v": 1}, created_by="p", effective_from="2026-01-01")
        store.publish_behavior_profile("tom", {"v": 2}, created_by="p", effective_from="2026-02-01")
    before = list(BehaviorProfile.objects.values_list("version", "effective_from", "effective_to"))
    with back_then(), pytest.raises(InvalidInput, match=message):
        store.publish_behavior_profile("tom", document, created_by="p", effective_from=start)
    after = list(BehaviorProfile.objects.values_list("version", "effective_from", "effective_to"))
    assert after == before


def test_publish_refuses_to_overlap_a_closed_window(store, back_then):
    BehaviorProfile.objects.create(
        profile_name="tom", version=1, behavior_json="{}", effective_from="2026-01-01T00:00:00Z",
        effective_to="2026-06-01T00:00:00Z", created_at="2026-01-01", created_by="other",
    )  # fmt: skip
    with back_then(), pytest.raises(InvalidInput, match="in effect until"):
        store.publish_behavior_profile("tom", {}, created_by="p", effective_from="2026-03-01")
    with back_then():
        published = store.publish_behavior_profile(
            "tom", {}, created_by="p", effective_from="2026-06-01"
        )
    assert published.version == 2


def test_profile_kinds_are_versioned_separately(store, back_then):
    with back_then():
        store.publish_behavior_profile("tom", {}, created_by="p", effective_from="2026-01-01")
    assert store.publish_personality_profile("tom", {}, created_by="p").version == 1
    assert PersonalityProfile.objects.count() == BehaviorProfile.objects.count() == 1


# --- every read is indexed -------------------------------------------------------------


def test_v1_reads_use_indexes_not_table_scans(store, run, proposal):
    session = store.start_session("tom")
    store.append_turn(session.id, "user", "hi")
    store.publish_behavior_profile("tom", {}, created_by="p")
    store.publish_personality_profile("tom", {}, created_by="p")
    _validate(store, proposal)
    with CaptureQueriesContext(connection) as captured:
        store.latest_active_behavior_profile("tom")
        store.latest_active_personality_profile("tom")
        store.session_replay(session.id)
        store.workflow_replay(run.id)
        store.proposal_lineage(proposal.id)
        store.append_turn(session.id, "assistant", "hello")
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    details = [step for sql in statements for step in query_plan(sql)]
    assert details, "no query plans captured"
    assert table_scans(details) == []
    # The profile window: the v1 index, or the unique (profile_name, version) one.
    assert any(
        "idx_behavior_effective" in d or "sqlite_autoindex_behavior" in d or "uniq_behavior" in d
        for d in details
    )
    assert any("idx_task_events_run_created" in d for d in details), "\n".join(details)
    assert any("idx_approvals_proposal" in d for d in details)


def test_rows_with_json_another_writer_broke_still_load(store, session_with_turns):
    Turn.objects.create(
        session=session_with_turns,
        turn_index=3,
        role="tool",
        content="{}",
        created_at="2026-11-24 10:00:00",
        metadata_json='{"truncated": ',
    )
    turn = store.session_replay(session_with_turns.id).turns[-1]
    parsed = turn.json("metadata_json")
    assert not parsed.valid
    assert parsed.raw == parsed.pretty == '{"truncated": '
    assert session_with_turns.json("metadata_json").value == {"topic": "demo"}


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param(None, id="text-only"),  # one JSON statement on SQLite
        # Parameters: JSON would not keep every float (SQLite keeps any value anywhere).
        pytest.param(0.25, id="a-float", marks=pytest.mark.engine("sqlite")),
        pytest.param(2**63 - 1, id="the-largest-integer"),
    ],
)
def test_bulk_insert_stores_every_value_as_given(store, odd):
    from memory_app.store import RuntimeMemoryStore

    session = store.start_session("tom")
    texts = ["plain", "Résumé \u2028 \t \x01 <b>", '{"a": [1]}', "", "\\u0000 quoted \" '"]
    rows = [
        (f"bulk-{n}", session.id, n, "user", text, odd if n == 0 else n, "2026-11-24", "{}")
        for n, text in enumerate(texts)
    ]
    RuntimeMemoryStore.bulk_insert(Turn, rows)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, session_id, turn_index, role, content, token_count, created_at, "
            "metadata_json FROM conversation_turns WHERE id LIKE 'bulk-%%' ORDER BY turn_index"
        )
        assert [tuple(r) for r in cursor.fetchall()] == rows
