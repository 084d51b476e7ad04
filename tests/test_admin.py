"""The admin: every table registered, the audit trail read-only, profiles only by publishing."""

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse

from memory_app.admin_parts import EstimatedCountPaginator
from memory_app.models import (
    Approval,
    BehaviorProfile,
    DeployOutcome,
    PersonalityProfile,
    Proposal,
    Session,
    Skill,
    TaskEvent,
    Turn,
    ValidationResult,
    WorkflowRun,
    WorkflowStep,
)
from memory_app.store import RuntimeMemoryStore
from tests.helpers import body, count_queries, days_ahead, decide, validate

pytestmark = pytest.mark.django_db


def model_admin(model):
    return admin.site._registry[model]


def change_url(obj):
    """The admin's own form of a change link: the id escaped with ``admin.utils.quote``."""
    return reverse(f"admin:memory_app_{obj._meta.model_name}_change", args=[quote(obj.pk)])


@pytest.fixture
def superuser_client(client):
    user = User.objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(user)
    return client


@pytest.fixture
def lineage(store, proposal):
    validate(store, proposal)
    approval = decide(store, proposal, "alice", "human").approval
    outcome = store.record_deploy_outcome(proposal.id, deployment_target="prod", status="failed")
    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s")
    step = store.add_step(run.id, "one")
    event = store.add_event("info", "low", "m", step_id=step.id)
    session = store.start_session("tom", session_id="s/1")
    for n in range(60):
        store.append_turn(session.id, "user", f"turn {n}")
    store.publish_behavior_profile("tom", {"a": 1}, created_by="p")
    return {
        "proposal": proposal, "approval": approval, "outcome": outcome, "run": run,
        "step": step, "event": event, "session": session,
        "validation": proposal.validations.get(),
    }  # fmt: skip


def test_every_v1_table_is_registered_with_list_options():
    models = [
        Session, Turn, WorkflowRun, WorkflowStep, TaskEvent, Skill, BehaviorProfile,
        PersonalityProfile, Proposal, ValidationResult, Approval, DeployOutcome,
    ]  # fmt: skip
    for model in models:
        registered = model_admin(model)
        assert registered.list_display != ("__str__",), model
        assert registered.show_full_result_count is False
        assert registered.paginator is EstimatedCountPaginator


@pytest.mark.parametrize("key", ["approval", "validation", "outcome", "event"])
def test_append_only_rows_are_read_only_in_the_admin(superuser_client, lineage, key):
    row = lineage[key]
    page = body(superuser_client.get(change_url(row)))
    assert 'name="_save"' not in page
    delete = reverse(f"admin:memory_app_{row._meta.model_name}_delete", args=[row.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    add = reverse(f"admin:memory_app_{row._meta.model_name}_add")
    assert superuser_client.get(add).status_code == 403
    changelist = reverse(f"admin:memory_app_{row._meta.model_name}_changelist")
    response = superuser_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )
    assert type(row).objects.filter(pk=row.pk).exists()
    assert "delete_selected" not in body(superuser_client.get(changelist))
    assert response.status_code in (200, 302)


def test_approval_cannot_be_changed_by_posting_to_the_admin(superuser_client, lineage):
    approval = lineage["approval"]
    response = superuser_client.post(change_url(approval), {"decision": "rejected"})
    assert response.status_code == 403
    assert Approval.objects.get(pk=approval.pk).decision == "approved"


def test_lineage_links_and_inlines(superuser_client, lineage):
    proposal_page = body(superuser_client.get(change_url(lineage["proposal"])))
    assert change_url(Skill.objects.get()) in proposal_page
    assert "alice" in proposal_page  # the approvals inline
    assert "Validation results" in proposal_page
    assert "still missing: policy, security" in proposal_page  # the governance rule
    approvals = body(superuser_client.get(reverse("admin:memory_app_approval_changelist")))
    assert change_url(lineage["proposal"]) in approvals
    events = body(superuser_client.get(reverse("admin:memory_app_taskevent_changelist")))
    assert change_url(lineage["run"]) in events
    assert change_url(lineage["step"]) in events
    session_page = body(superuser_client.get(change_url(lineage["session"])))
    assert session_page.count('class="field-turn_index_as_stored"') == 50  # the first 50 inline
    turns = body(superuser_client.get(reverse("admin:memory_app_turn_changelist")))
    assert change_url(lineage["session"]) in turns


def test_an_inline_row_whose_id_holds_a_newline_links_to_its_page(superuser_client, lineage):
    """The admin's own "view on site" address cannot hold such an id (its pattern stops at
    a newline): the inline links to the row's dashboard page instead."""
    with connection.cursor() as cursor:  # another writer's proposal of the same skill
        cursor.execute(
            "INSERT INTO skill_to_logic_proposals (id, skill_id, proposed_by, proposal_type, "
            "proposal_json, risk_level, status, created_at, updated_at) VALUES (%s, %s, "
            "'oxide', 'config_change', '{}', 'low', 'drafted', '2026-12-01', '2026-12-01')",
            ["p\n1", lineage["proposal"].skill_id],
        )
    response = superuser_client.get(change_url(Skill.objects.get()))
    assert response.status_code == 200
    assert reverse("memory_app:proposal", args=["p\n1"]) in body(response)


def test_admin_lists_do_not_count_a_whole_table(superuser_client, lineage):
    few = count_queries(superuser_client, reverse("admin:memory_app_turn_changelist"))
    session = lineage["session"]
    RuntimeMemoryStore.bulk_insert(
        Turn,
        [(f"x{n}", session.pk, 100 + n, "user", "x", 1, "2026-01-01", "{}") for n in range(500)],
    )
    assert count_queries(superuser_client, reverse("admin:memory_app_turn_changelist")) == few
    paginator = EstimatedCountPaginator(Turn.objects.order_by("-pk"), 50)
    assert paginator.count == 560
    filtered = EstimatedCountPaginator(Turn.objects.filter(role="user").order_by("-pk"), 50)
    assert filtered.count == 560


def test_a_published_version_opens_read_only_with_a_link_to_publish_the_next(
    client, profile_admin, lineage
):
    profile_admin.is_staff = True
    profile_admin.save()
    client.force_login(profile_admin)
    v1 = BehaviorProfile.objects.get()
    page = body(client.get(change_url(v1)))
    assert 'name="_save"' not in page
    assert 'href="/profiles/behavior/tom/publish/">Publish a new version of tom</a>' in page
    response = client.post(change_url(v1), {"document": '{"a": 2}', "rationale": "tuned"})
    assert response.status_code == 403
    assert BehaviorProfile.objects.count() == 1


def test_profile_admin_add_publishes_the_next_version(client, profile_admin, lineage, clock):
    profile_admin.is_staff = True
    profile_admin.save()
    client.force_login(profile_admin)
    start = days_ahead(clock, 180)
    response = client.post(
        reverse("admin:memory_app_behaviorprofile_add"),
        {"profile_name": "tom", "document": '{"a": 2}', "rationale": "tuned",
         "effective_from": start, "source_ref": ""},
    )  # fmt: skip
    assert response.status_code == 302
    v1_after, v2 = BehaviorProfile.objects.order_by("version")
    assert v1_after.behavior_json == '{"a":1}'
    assert v1_after.effective_to == f"{start}T00:00:00.000Z"
    assert (v2.version, v2.behavior_json, v2.created_by) == (2, '{"a":2}', profile_admin.username)


def test_profile_admin_refusal_is_a_form_error(client, profile_admin, lineage):
    profile_admin.is_staff = True
    profile_admin.save()
    client.force_login(profile_admin)
    add = reverse("admin:memory_app_behaviorprofile_add")
    response = client.post(
        add, {"profile_name": "tom", "document": "[1]", "rationale": "x",
              "effective_from": "2027-06-01"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "must be a JSON object" in body(response)
    response = client.post(
        add, {"profile_name": "tom", "document": "{}", "rationale": "x",
              "effective_from": "2025-01-01"},
    )  # fmt: skip
    assert "is in the past" in body(response)
    assert BehaviorProfile.objects.count() == 1


def test_the_admin_never_deletes_sessions_or_turns(admin_client_super, lineage):
    session = lineage["session"]
    changelist = body(admin_client_super.get(reverse("admin:memory_app_session_changelist")))
    assert "delete_selected" not in changelist
    delete = reverse("admin:memory_app_session_delete", args=[quote(session.pk)])
    assert admin_client_super.post(delete, {"post": "yes"}).status_code == 403
    turns = body(admin_client_super.get(reverse("admin:memory_app_turn_changelist")))
    assert "delete_selected" not in turns
    assert Session.objects.filter(pk=session.pk).exists()


def test_remove_session_says_what_it_removes_and_needs_yes(lineage):
    from io import StringIO

    from django.core.management import call_command

    session = lineage["session"]
    out = StringIO()
    call_command("remove_session", session.pk, stdout=out)
    assert "Would remove session 's/1' (tom" in out.getvalue()
    assert "and its 60 turns" in out.getvalue()
    assert Session.objects.filter(pk=session.pk).exists()
    call_command("remove_session", session.pk, "--yes", stdout=out)
    assert "Removed session 's/1'" in out.getvalue()
    assert not Session.objects.filter(pk=session.pk).exists()
    assert not Turn.objects.filter(session_id=session.pk).exists()


def test_short_text_columns_edit_on_one_line(admin_client_super, lineage):
    page = body(admin_client_super.get(change_url(lineage["session"])))
    assert '<input type="text" name="actor"' in page
    assert '<textarea name="metadata_json"' in page


@pytest.fixture
def admin_client_super(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-x"))
    return client


def test_reviewer_sees_profiles_read_only(client, reviewer, lineage):
    reviewer.is_staff = True
    reviewer.save()
    client.force_login(reviewer)
    v1 = BehaviorProfile.objects.get()
    page = body(client.get(change_url(v1)))
    assert 'name="_save"' not in page
    assert client.post(change_url(v1), {"document": "{}", "rationale": "x"}).status_code == 403
    assert BehaviorProfile.objects.count() == 1


def test_admin_times_show_as_in_the_dashboard(admin_client_super, lineage):
    page = body(admin_client_super.get(reverse("admin:memory_app_session_changelist")))
    assert '<time datetime="' in page
    assert ' UTC">' in page  # UTC on hover; app.js shows the local time
    assert "memory_app/app.js" in page
