"""From a finding to a governed change (#23): propose_change, its pages, and the decision
log's cover of the evidence links."""

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from memory_app.errors import InvalidInput, NotFound
from memory_app.models import (
    AppendOnlyError,
    AuditLeaf,
    BehaviorProfile,
    FindingEvidence,
    Proposal,
    Skill,
)
from tests.helpers import REPO, audit_triggers_lifted, body, checkpoint, count_queries, validate

pytestmark = pytest.mark.django_db

CORRECTION = "The capital of Australia is Canberra."


def annotated(store, session, author="rita-reviewer", **more):
    """An annotation with a correction on the session's last turn."""
    turn = session.turns.order_by("turn_index").last()
    return store.annotate(
        "turn", turn.pk, author=author, comment="wrong capital", correction=CORRECTION, **more
    )


def propose(store, ids, **more):
    values = {
        "proposed_by": "rita-reviewer",
        "proposal_type": "config_change",
        "proposal": {"corrections": [{"answer": CORRECTION}]},
        "risk_level": "low",
        "skill_key": "capitals",
        "description": "Tom gets capitals wrong",
    }
    return store.propose_change(ids, **(values | more))


def rows() -> tuple[int, int, int, int]:
    return (
        Skill.objects.count(),
        Proposal.objects.count(),
        FindingEvidence.objects.count(),
        AuditLeaf.objects.count(),
    )


# --- the store ------------------------------------------------------------------------


def test_a_finding_drafts_a_skill_and_a_proposal_linked_to_its_evidence(store, session_with_turns):
    first = annotated(store, session_with_turns)
    second = store.annotate("session", session_with_turns.pk, author="sam", comment="meh")
    finding = propose(store, [first.pk, second.pk])

    skill = Skill.objects.get(pk=finding.skill.pk)
    assert skill.source_type == "conversation"
    assert skill.source_ref == f"annotations:{first.pk},{second.pk}"
    assert json.loads(skill.metadata_json)["proposed_by"] == "rita-reviewer"
    proposal = Proposal.objects.get(pk=finding.proposal.pk)
    assert (proposal.proposed_by, proposal.proposal_type, proposal.status) == (
        "human", "config_change", "drafted",
    )  # fmt: skip
    assert json.loads(proposal.proposal_json) == {"corrections": [{"answer": CORRECTION}]}
    linked = FindingEvidence.objects.of(proposal.pk)
    assert [e.annotation_id for e in linked] == [first.pk, second.pk]
    # Each link is a leaf of the decision log, taken in with the write.
    logged = AuditLeaf.objects.filter(kind="finding_evidence").values_list("row_id", flat=True)
    assert sorted(logged) == sorted(e.pk for e in linked)


def test_a_profile_change_carries_the_new_document_as_a_v1_policy_change(store, session_with_turns):
    note = annotated(store, session_with_turns)
    document = {"profile_kind": "behavior", "profile_name": "tom", "document": {"tone": "brief"}}
    finding = propose(store, [note.pk], proposal_type="profile_change", proposal=document)
    proposal = Proposal.objects.get(pk=finding.proposal.pk)
    assert proposal.proposal_type == "policy_change"
    assert json.loads(proposal.proposal_json) == document


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"ids": []}, InvalidInput, "at least one annotation"),
        ({"ids": "abc"}, InvalidInput, "must be a list"),
        ({"ids": ["no-such"]}, NotFound, "no tommemory_annotations row"),
        ({"ids": "twice"}, InvalidInput, "given twice"),
        ({"ids": "superseded"}, InvalidInput, "was superseded by"),
        ({"proposal": [1, 2]}, InvalidInput, "JSON object"),
        ({"proposal": {}}, InvalidInput, "non-empty JSON object"),
        ({"proposal": "not json"}, InvalidInput, "proposal"),
        ({"proposal": None}, InvalidInput, "non-empty JSON object"),
        ({"proposal_type": "code_patch"}, InvalidInput, "profile_change, config_change"),
        ({"proposal_type": "profile_change"}, InvalidInput, "profile_kind"),
        (
            {
                "proposal_type": "profile_change",
                "proposal": {"profile_kind": "behavior", "profile_name": "tom", "document": 3},
            },
            InvalidInput,
            "'document'",
        ),
        ({"risk_level": "apocalyptic"}, InvalidInput, "risk_level must be one of"),
        ({"proposed_by": "\u200b "}, InvalidInput, "must name a person"),
        ({"skill_key": " "}, InvalidInput, "skill_key"),
        ({"description": ""}, InvalidInput, "description"),
        ({"created_at": "yesterday"}, InvalidInput, "created_at"),
    ],
)
def test_a_refused_finding_writes_nothing(store, session_with_turns, change, error, message):
    note = annotated(store, session_with_turns)
    ids = change.pop("ids", [note.pk])
    if ids == "twice":
        ids = [note.pk, note.pk]
    elif ids == "superseded":
        store.annotate(
            note.target_kind, note.target_id, author=note.author, comment="x", supersedes=note.pk
        )
        ids = [note.pk]
    before = rows()
    with pytest.raises(error, match=message):
        propose(store, ids, **change)
    assert rows() == before


def test_the_same_skill_at_the_same_moment_is_refused_and_writes_nothing(
    store, session_with_turns, clock
):
    clock.set("2026-05-01T10:00:00.000Z", ticking=False)
    note = annotated(store, session_with_turns)
    propose(store, [note.pk])
    before = rows()
    with pytest.raises(InvalidInput, match="already learned"):
        propose(store, [note.pk])
    assert rows() == before


def test_evidence_links_are_append_only(store, session_with_turns):
    link = propose(store, [annotated(store, session_with_turns).pk]).evidence[0]
    with pytest.raises(AppendOnlyError):
        link.save()
    with pytest.raises(AppendOnlyError):
        FindingEvidence.objects.all().delete()
    for sql in (
        "UPDATE tommemory_finding_evidence SET created_at = 'x'",
        "DELETE FROM tommemory_finding_evidence",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)


def test_the_proposal_is_validated_and_decided_like_any_other(
    store, session_with_turns, ops, reviewer
):
    proposal = propose(store, [annotated(store, session_with_turns).pk]).proposal
    assert store.proposal_status(proposal.pk).status == "drafted"
    validate(store, proposal)
    assert store.proposal_status(proposal.pk).status == "validated"
    store.record_approval(
        proposal.pk, approver="oscar-ops", approval_type="human", decision="approved"
    )
    assert Proposal.objects.get(pk=proposal.pk).status == "approved"


def test_the_reviewer_who_proposed_a_finding_approves_nothing_of_it(store, session_with_turns, ops):
    """The v1 column says only ``human``; the rule takes the proposer from the skill."""
    proposal = propose(store, [annotated(store, session_with_turns).pk], proposed_by="Oscar-Ops")
    validate(store, proposal := proposal.proposal)
    with pytest.raises(InvalidInput, match="proposed this and cannot approve"):
        store.record_approval(
            proposal.pk, approver="oscar-ops", approval_type="human", decision="approved"
        )
    assert not proposal.approvals.exists()
    verdict = store.proposal_status(proposal.pk)
    assert verdict.proposers == ("human", "Oscar-Ops")
    assert verdict.types_open_to("oscar-ops") == []
    assert verdict.types_open_to("rita-reviewer") == ["human"]


def test_a_proposing_ops_person_is_offered_nothing_on_the_page_and_refused_on_post(
    ops_client, store, session_with_turns
):
    note = annotated(store, session_with_turns)
    assert ops_client.post(POST, form_data([note.pk])).status_code == 302
    validate(store, proposal := Proposal.objects.get())
    page = body(ops_client.get(reverse("memory_app:proposal", args=[proposal.pk])))
    assert "<dd>human, oscar-ops</dd>" in page
    assert "oscar-ops proposed this and cannot approve their own proposal" in page
    decide = reverse("memory_app:record_decision", args=[proposal.pk])
    data = {"approval_type": "human", "decision": "approved", "notes": "", "token": "t-1"}
    response = ops_client.post(decide, data)
    assert response.status_code == 422
    assert "cannot approve their own proposal" in body(response)
    assert not proposal.approvals.exists()
    needs = body(ops_client.get(reverse("memory_app:needs_me")))
    assert proposal.pk not in needs


# --- the decision log covers the link ---------------------------------------------------


def verify(directory, keys) -> str:
    out = StringIO()
    call_command(
        "verify_audit", "--checkpoint", str(directory), "--key", str(keys[1]),
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    return out.getvalue()


def test_a_changed_evidence_link_is_found_by_verify_audit(
    store, session_with_turns, tmp_path, keys
):
    note = annotated(store, session_with_turns)
    other = store.annotate("session", session_with_turns.pk, author="sam", comment="other")
    link = propose(store, [note.pk]).evidence[0]
    directory = checkpoint(tmp_path, keys)
    verify(directory, keys)  # intact
    with audit_triggers_lifted() as cursor:
        cursor.execute(
            "UPDATE tommemory_finding_evidence SET annotation_id = %s WHERE id = %s",
            [other.pk, link.pk],
        )
    with pytest.raises(CommandError, match=r"finding_evidence .* was changed after it was logged"):
        verify(directory, keys)


def test_a_removed_evidence_link_is_found_by_verify_audit(
    store, session_with_turns, tmp_path, keys
):
    link = propose(store, [annotated(store, session_with_turns).pk]).evidence[0]
    directory = checkpoint(tmp_path, keys)
    with audit_triggers_lifted() as cursor:
        cursor.execute("DELETE FROM tommemory_finding_evidence WHERE id = %s", [link.pk])
    with pytest.raises(CommandError, match=r"finding_evidence .* is gone"):
        verify(directory, keys)


def test_the_audit_bundle_carries_the_evidence_links_and_verifies_offline(
    store, session_with_turns, tmp_path, keys
):
    finding = propose(store, [annotated(store, session_with_turns).pk])
    validate(store, finding.proposal)
    directory = checkpoint(tmp_path, keys)
    out = tmp_path / "bundle.json"
    call_command(
        "audit_bundle", finding.proposal.pk, "--checkpoint", str(directory), "--out", str(out),
        stderr=StringIO(),
    )  # fmt: skip
    kinds = [e["kind"] for e in json.loads(out.read_text())["entries"]]
    assert sorted(kinds) == ["finding_evidence", "validation"]
    checked = subprocess.run(
        [sys.executable, "-m", "tommemory_verify", str(out), "--key", str(keys[1])],
        cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "authentic and complete: 2 rows" in checked.stdout


# --- pages ------------------------------------------------------------------------------


NEW = reverse("memory_app:new_finding")
POST = reverse("memory_app:propose_change")


def form_data(ids, **more):
    return {
        "annotation": ids,
        "change": "config_change",
        "document": json.dumps({"corrections": [{"answer": CORRECTION}]}),
        "skill_key": "capitals",
        "description": "Tom gets capitals wrong",
        "risk_level": "low",
    } | more


def test_outsiders_and_strangers_get_no_page_and_write_nothing(
    client, outsider_client, store, session_with_turns
):
    note = annotated(store, session_with_turns)
    proposal = propose(store, [note.pk]).proposal
    evidence = reverse("memory_app:proposal_evidence", args=[proposal.pk])
    before = rows()
    for url in (f"{NEW}?annotation={note.pk}", evidence):
        assert outsider_client.get(url).status_code == 403
    assert outsider_client.post(POST, form_data([note.pk])).status_code == 403
    assert rows() == before
    client.logout()
    for url in (f"{NEW}?annotation={note.pk}", evidence):
        assert client.get(url).status_code == 302
    assert client.post(POST, form_data([note.pk])).status_code == 302
    assert rows() == before


def test_the_form_shows_the_evidence_and_starts_from_its_corrections(
    reviewer_client, store, session_with_turns
):
    note = annotated(store, session_with_turns, scores=None)
    page = body(reviewer_client.get(f"{NEW}?annotation={note.pk}"))
    assert "wrong capital" in page
    assert "hello" in page  # the annotated turn
    assert "Canberra" in page  # the correction, in the document the form starts from
    assert f'name="annotation" value="{note.pk}"' in page


def test_the_form_starts_a_profile_change_from_the_active_version(
    reviewer_client, store, session_with_turns, back_then
):
    with back_then():
        store.publish_behavior_profile(
            "tom", {"tone": "warm-and-brief"}, rationale="r", created_by="paula"
        )
    note = annotated(store, session_with_turns)
    url = f"{NEW}?annotation={note.pk}&change=profile_change&profile=behavior:tom"
    page = body(reviewer_client.get(url))
    assert "warm-and-brief" in page
    assert BehaviorProfile.objects.count() == 1


@pytest.mark.parametrize(
    "query",
    ["", "?annotation=", "?annotation=nope", "?annotation=%00", "?change=x&profile=::"],
)
def test_a_form_for_no_current_annotation_says_why(reviewer_client, query):
    response = reviewer_client.get(NEW + query)
    assert response.status_code == 400
    assert "Cannot propose from these annotations" in body(response)


def test_a_posted_finding_becomes_a_proposal_shown_with_its_evidence(
    reviewer_client, store, session_with_turns
):
    note = annotated(store, session_with_turns)
    response = reviewer_client.post(POST, form_data([note.pk]))
    proposal = Proposal.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("memory_app:proposal", args=[proposal.pk])
    assert json.loads(Skill.objects.get().metadata_json)["proposed_by"] == "rita-reviewer"
    page = body(reviewer_client.get(response.url))
    evidence = reverse("memory_app:proposal_evidence", args=[proposal.pk])
    assert f'hx-get="{evidence}"' in page
    assert f'href="{evidence}"' in page
    shown = body(reviewer_client.get(evidence, headers={"HX-Request": "true"}))
    assert "wrong capital" in shown
    assert "Canberra" in shown
    assert "Linked in the decision log as entry #0" in shown


def test_a_posted_profile_change_names_an_existing_profile(
    reviewer_client, store, session_with_turns, back_then
):
    note = annotated(store, session_with_turns)
    data = form_data(
        [note.pk], change="profile_change", profile="behavior:tom", document='{"tone": "brief"}'
    )
    assert reviewer_client.post(POST, data).status_code == 422  # no such profile to offer
    assert Proposal.objects.count() == 0
    with back_then():
        store.publish_behavior_profile("tom", {"tone": "warm"}, rationale="r", created_by="paula")
    assert reviewer_client.post(POST, data).status_code == 302
    assert json.loads(Proposal.objects.get().proposal_json) == {
        "profile_kind": "behavior", "profile_name": "tom", "document": {"tone": "brief"},
    }  # fmt: skip


def test_a_refused_post_says_why_and_writes_nothing(reviewer_client, store, session_with_turns):
    note = annotated(store, session_with_turns)
    store.annotate("turn", note.target_id, author=note.author, comment="x", supersedes=note.pk)
    before = rows()
    response = reviewer_client.post(POST, form_data([note.pk]))
    assert response.status_code == 422
    assert "was superseded by" in body(response)
    response = reviewer_client.post(POST, form_data([], document="[1]"))
    assert response.status_code == 422
    assert rows() == before


def test_the_evidence_fragment_reads_a_constant_number_of_queries(
    reviewer_client, store, session_with_turns, clock
):
    def proposal_with(n: int) -> str:
        notes = [annotated(store, session_with_turns, author=f"r{i}") for i in range(n)]
        return propose(store, [a.pk for a in notes], skill_key=f"k{n}").proposal.pk

    one, five = proposal_with(1), proposal_with(5)
    urls = [reverse("memory_app:proposal_evidence", args=[pk]) for pk in (one, five)]
    assert count_queries(reviewer_client, urls[0]) == count_queries(reviewer_client, urls[1])


def test_the_evidence_of_no_such_proposal_is_404(reviewer_client):
    url = reverse("memory_app:proposal_evidence", args=["no-such"])
    assert reviewer_client.get(url).status_code == 404


@given(
    data=st.fixed_dictionaries(
        {},
        optional={
            "annotation": st.lists(st.text(max_size=40), max_size=3),
            "change": st.sampled_from(["config_change", "profile_change", "", "code_patch"]),
            "profile": st.text(max_size=20),
            "document": st.one_of(st.text(max_size=60), st.just('{"a": 1}'), st.just("[]")),
            "skill_key": st.text(max_size=30),
            "description": st.text(max_size=30),
            "risk_level": st.sampled_from(["low", "high", "", "nope"]),
        },
    ),
    valid_evidence=st.booleans(),
)
def test_any_posted_form_gets_an_answer_and_a_refusal_writes_nothing(
    reviewer_client, store, session_with_turns, data, valid_evidence
):
    if valid_evidence:
        data["annotation"] = [annotated(store, session_with_turns).pk]
    before = rows()
    response = reviewer_client.post(POST, data)
    assert response.status_code in (302, 422)
    if response.status_code == 422:
        assert rows() == before
