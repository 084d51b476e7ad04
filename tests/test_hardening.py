"""No stored value or request breaks a page; no writer outside the form bends a decision."""

import json
import threading
import tracemalloc
from urllib.parse import unquote

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import Resolver404, resolve, reverse
from hypothesis import given
from hypothesis import strategies as st

from memory_app.converters import storable
from memory_app.models import (
    Approval,
    BehaviorProfile,
    Proposal,
    ProposalChange,
    Session,
    TaskEvent,
)
from memory_app.promotion import rule
from memory_app.store import InvalidInput
from memory_app.timeutil import ISO_8601, format_iso, instant_key, normalize_iso, parse_iso
from tests.helpers import ENGINE, audit_triggers_lifted, body

pytestmark = pytest.mark.django_db

OVERFLOWING = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]


# --- times ----------------------------------------------------------------------------------


def test_years_below_1000_are_written_with_four_digits_and_read_back():
    written = normalize_iso("0999-03-04T05:06:07.089Z")
    assert written == "0999-03-04T05:06:07.089Z"
    assert normalize_iso(written) == written
    assert normalize_iso("0001-01-01") == "0001-01-01T00:00:00.000Z"


@pytest.mark.parametrize("text", OVERFLOWING)
def test_an_instant_outside_python_s_range_is_unreadable_not_an_error(text):
    assert parse_iso(text) is None
    assert instant_key(text) == ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tom_instant(%s)", [text])
        assert cursor.fetchone() == (None,)


@given(st.datetimes(timezones=st.timezones()))
def test_every_python_instant_round_trips_through_the_canonical_form(moment):
    text = format_iso(moment)
    assert normalize_iso(text) == text


@given(
    st.one_of(
        st.text(max_size=40),
        st.datetimes(timezones=st.timezones()).map(str),
        # Every form the grammar takes, real dates or not.
        st.from_regex(ISO_8601, fullmatch=True),
    ).map(lambda text: text.replace("\x00", "") if ENGINE == "postgresql" else text)
)
def test_sql_and_python_read_any_text_as_the_same_instant(text):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tom_instant(%s)", [text])
        (in_sql,) = cursor.fetchone()
    assert (in_sql or "") == instant_key(text)


@pytest.mark.parametrize("text", OVERFLOWING)
def test_overview_and_every_list_render_a_time_that_overflows(reviewer_client, store, text):
    """The reported case: one such row made the overview answer 500 for everyone."""
    session = store.start_session("tom")
    Session.objects.filter(pk=session.pk).update(started_at=text)
    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s", started_at=None)
    TaskEvent.objects.create(
        workflow_run=run, event_type="info", event_level="low", message="m", created_at=text
    )
    BehaviorProfile.objects.create(
        profile_name="tom", version=1, behavior_json="{}", effective_from=text,
        effective_to=text, created_at=text, created_by="other",
    )  # fmt: skip
    for name in ("overview", "activity", "sessions", "workflows", "proposals", "profiles"):
        response = reviewer_client.get(reverse(f"memory_app:{name}"))
        assert response.status_code == 200, name
    page = body(reviewer_client.get(reverse("memory_app:session", args=[session.pk])))
    assert 'title="not an ISO-8601 time"' in page
    assert text in page
    profile = reviewer_client.get(reverse("memory_app:profile", args=["behavior", "tom"]))
    assert "unreadable effective_from" in body(profile)


@pytest.mark.parametrize("text", [*OVERFLOWING, "99999-01-01", "2026-13-45"])
def test_a_date_filter_out_of_range_is_a_message(reviewer_client, proposal, text):
    for url in [
        reverse("memory_app:sessions") + f"?started_from={text}",
        reverse("memory_app:workflows") + f"?started_to={text}",
        reverse("memory_app:proposal", args=[proposal.pk]) + f"?at={text}",
        reverse("memory_app:profiles") + f"?at={text}",
    ]:
        response = reviewer_client.get(url)
        assert response.status_code == 200, url
    html = body(reviewer_client.get(reverse("memory_app:sessions") + f"?started_from={text}"))
    assert "Enter an ISO-8601 date or time" in html


# --- numbers and JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["?from=9" * 1 + "9" * 30, "?turn=" + "9" * 30, "?from=-5"])
def test_huge_turn_positions_are_an_answer_not_an_overflow(
    reviewer_client, session_with_turns, query
):
    url = reverse("memory_app:session", args=[session_with_turns.pk]) + query
    assert reviewer_client.get(url).status_code in (200, 404)


def test_a_huge_page_number_is_a_form_error(reviewer_client):
    response = reviewer_client.get(reverse("memory_app:proposals") + "?page=" + "9" * 40)
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to" in body(response)


def test_a_cursor_with_an_integer_beyond_64_bits_is_refused(reviewer_client):
    from memory_app.forms import encode_cursor

    cursor = encode_cursor(2**70)
    response = reviewer_client.get(reverse("memory_app:sessions") + f"?q=abc&match_after={cursor}")
    assert response.status_code == 200
    assert "This page link is damaged" in body(response)


# SQLite keeps any value in any column; PostgreSQL refuses such a row.
@pytest.mark.engine("sqlite")
def test_text_and_huge_numbers_in_number_columns_are_shown_as_stored(
    reviewer_client, session_with_turns
):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE conversation_turns SET token_count = 'many', turn_index = 'x.y.z' "
            "WHERE turn_index = 2"
        )
        cursor.execute(
            "UPDATE conversation_turns SET token_count = %s WHERE turn_index = 1", [str(10**30)]
        )
    response = reviewer_client.get(reverse("memory_app:session", args=[session_with_turns.pk]))
    assert response.status_code == 200
    assert "x.y.z" in body(response)


def test_json_nested_beyond_the_recursion_limit_is_shown_as_stored(
    reviewer_client, session_with_turns
):
    deep = "[" * 50_000 + "]" * 50_000
    Session.objects.filter(pk=session_with_turns.pk).update(metadata_json=deep)
    response = reviewer_client.get(reverse("memory_app:session", args=[session_with_turns.pk]))
    assert response.status_code == 200
    exported = reviewer_client.get(
        reverse("memory_app:session", args=[session_with_turns.pk]) + "?format=json"
    )
    assert b"".join(exported.streaming_content)


@pytest.mark.parametrize("document", ["[" * 50_000 + "]" * 50_000, '{"a":' * 150 + "1" + "}" * 150])
def test_a_published_document_nested_too_deep_is_a_form_error(client, profile_admin, document):
    client.force_login(profile_admin)
    url = reverse("memory_app:publish_profile", args=["behavior", "tom"])
    response = client.post(url, {"document": document, "rationale": "deep", "confirm": "1"})
    assert response.status_code == 422
    assert "cannot be published" in body(response)
    assert not BehaviorProfile.objects.exists()


def test_the_store_refuses_a_document_nested_too_deep(store):
    deep = {}
    for _ in range(150):
        deep = {"a": deep}
    with pytest.raises(InvalidInput, match="nested deeper than 100 levels"):
        store.start_session("tom", metadata=deep)


# --- ids --------------------------------------------------------------------------------------


@given(st.text(min_size=0, max_size=30))
def test_the_converter_and_reverse_agree_for_every_string(text):
    for name, args in [
        ("memory_app:session", [text]),
        ("memory_app:proposal", [text]),
        ("memory_app:record_decision", [text]),
        ("memory_app:profile", ["behavior", text]),
        ("memory_app:publish_profile", ["behavior", text]),
    ]:
        # A server percent-decodes the path before it is resolved.
        path = unquote(reverse(name, args=args))
        if not storable(text):  # PostgreSQL and NUL: no row can have the id, no page
            with pytest.raises(Resolver404):
                resolve(path)
            continue
        match = resolve(path)
        assert match.view_name == name
        assert list(match.kwargs.values())[-1] == text


ODD_IDS = ["line\nfeed", "carriage\rreturn", "tab\tand\x01soh", "", "."]
if ENGINE == "sqlite":  # PostgreSQL text cannot hold NUL
    ODD_IDS.append("nul\x00inside")


@pytest.mark.parametrize("odd_id", ODD_IDS)
def test_ids_with_control_characters_reach_their_page_and_back(reviewer_client, store, odd_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sessions (id, actor, started_at) VALUES (%s, 'tom', '2026-11-24')",
            [odd_id],
        )
    url = reverse("memory_app:session", args=[odd_id])
    response = reviewer_client.get(url)
    assert response.status_code == 200
    assert response.context["session"].pk == odd_id
    assert url in body(reviewer_client.get(reverse("memory_app:sessions")))


# SQLite keeps any value in any column; PostgreSQL refuses such a row.
@pytest.mark.engine("sqlite")
def test_a_row_without_an_id_is_listed_unlinked(reviewer_client):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sessions (id, actor, started_at) VALUES (NULL, 'nobody', '2026-11-24')"
        )
    html = body(reviewer_client.get(reverse("memory_app:sessions")))
    assert "stored without an id" in html


def test_a_dangling_link_shows_the_missing_row_instead_of_failing(admin_client_all, proposal):
    with transaction.atomic():  # rolled back: the suite checks foreign keys at teardown
        with connection.cursor() as cursor:
            # Checked at commit, which never comes (PostgreSQL defers Django's keys anyway).
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA defer_foreign_keys = ON")
            cursor.execute(
                "UPDATE skill_to_logic_proposals SET skill_id = 'gone' WHERE id = %s",
                [proposal.pk],
            )
        assert admin_client_all.get(reverse("memory_app:proposals")).status_code == 200
        for url in [
            reverse("memory_app:proposal", args=[proposal.pk]),
            reverse("admin:memory_app_proposal_changelist"),
        ]:
            response = admin_client_all.get(url)
            assert response.status_code == 200, url
            assert "gone" in body(response), url
        transaction.set_rollback(True)


def test_admin_links_encode_ids_in_their_query_strings(admin_client_all, store):
    store.start_session("tom", session_id="a&b=c#d")
    html = body(admin_client_all.get(reverse("admin:memory_app_session_changelist")))
    assert "?session__id__exact=a%26b%3Dc%23d" in html


@pytest.fixture
def admin_client_all(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-x"))
    return client


# --- decisions other writers cannot bend ----------------------------------------------------


def _validated(store, proposal):
    store.record_validation(
        proposal.id, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1
    )


def _approve(store, proposal, who, kind):
    return store.record_approval(
        proposal.id, approver=who, approval_type=kind, decision="approved"
    ).verdict


def test_lowering_the_risk_makes_decisions_stale_and_keeps_the_higher_bar(
    store, proposal, reviewer_client
):
    _validated(store, proposal)  # the fixture's proposal is high risk
    for who, kind in [("ann", "human"), ("bob", "policy"), ("cy", "security")]:
        verdict = _approve(store, proposal, who, kind)
    assert verdict.status == "approved"
    Proposal.objects.filter(pk=proposal.pk).update(risk_level="low")
    verdict = rule.verdict_for(Proposal.objects.get(pk=proposal.pk))
    assert verdict.status == "validated"
    assert verdict.risk == "high"  # what is required follows the level decisions were given at
    assert verdict.missing == ["human", "policy", "security"]
    assert all(
        d.stale and "risk_level changed from high to low" in d.reason for d in verdict.decisions
    )
    change = ProposalChange.objects.get()
    assert (change.column, change.old_value, change.new_value) == ("risk_level", "high", "low")
    html = body(reviewer_client.get(reverse("memory_app:proposal", args=[proposal.pk])))
    assert "Changed after drafting" in html
    assert "changed from &#x27;high&#x27; to &#x27;low&#x27;" in html
    assert "risk_level changed from high to low after this decision" in html


def test_editing_proposal_json_behind_the_form_is_noticed_with_its_time(store, proposal):
    _validated(store, proposal)
    _approve(store, proposal, "ann", "human")
    Proposal.objects.filter(pk=proposal.pk).update(proposal_json='{"diff": "other"}')
    change = ProposalChange.objects.get()
    assert change.column == "proposal_json"
    assert parse_iso(change.noticed_at) is not None
    verdict = rule.verdict_for(Proposal.objects.get(pk=proposal.pk))
    assert "proposal_json changed" in verdict.decisions[0].reason


@pytest.mark.parametrize("stored", ["rejected", "promoted"])
def test_a_terminal_status_the_rows_do_not_explain_refuses_decisions(
    store, proposal, client, ops, stored
):
    _validated(store, proposal)
    Proposal.objects.filter(pk=proposal.pk).update(status=stored)
    fresh = Proposal.objects.get(pk=proposal.pk)
    verdict = rule.verdict_for(fresh)
    assert verdict.status == "validated"
    assert f"stored the status {stored!r}" in verdict.disagreement
    with pytest.raises(InvalidInput, match="disagrees with the rows"):
        store.record_approval(proposal.id, approver="a", approval_type="human", decision="approved")
    assert not Approval.objects.exists()
    client.force_login(ops)
    html = body(client.get(reverse("memory_app:proposal", args=[proposal.pk])))
    assert "the rows give" in html
    assert "Decisions are refused while the stored status" in html


def test_an_approved_status_without_the_approvals_is_shown_as_a_disagreement(
    store, proposal, reviewer_client
):
    _validated(store, proposal)
    Proposal.objects.filter(pk=proposal.pk).update(status="approved")
    html = body(reviewer_client.get(reverse("memory_app:proposal", args=[proposal.pk])))
    assert "the counted approvals do not meet the rule" in html


def test_one_person_for_two_types_counts_once_when_the_rule_needs_distinct_people(store, proposal):
    _validated(store, proposal)
    _approve(store, proposal, "ann", "human")
    verdict = _approve(store, proposal, "ann", "policy")
    second = verdict.decisions[1]
    assert not second.counted
    assert "already counts as the human approval" in second.reason
    assert verdict.missing == ["policy", "security"]


def test_an_approval_of_a_type_the_rule_does_not_need_is_not_counted(store, proposal):
    _validated(store, proposal)
    verdict = _approve(store, proposal, "ann", "ops")
    assert not verdict.decisions[0].counted
    assert "not required at high risk" in verdict.decisions[0].reason


def test_distinct_approvers_are_matched_to_types_whatever_the_order(store, proposal):
    _validated(store, proposal)
    _approve(store, proposal, "ann", "human")
    _approve(store, proposal, "ann", "policy")
    _approve(store, proposal, "ann", "security")
    _approve(store, proposal, "bob", "human")
    verdict = _approve(store, proposal, "cy", "policy")
    # ann can only count once: for security, with bob for human and cy for policy.
    assert verdict.satisfied == {"human": "bob", "policy": "cy", "security": "ann"}
    assert verdict.status == "approved"


def test_many_decisions_keep_the_rule_cheap(store, proposal):
    _validated(store, proposal)
    for n in range(30):
        for kind in ("human", "policy"):
            _approve(store, proposal, f"person-{n}", kind)
    verdict = _approve(store, proposal, "sec", "security")
    assert verdict.status == "approved"
    assert len(verdict.decisions) == 61
    # The two people counted for human and for policy each have their other approval
    # marked as not counted; every other approval is valid (if not needed).
    not_counted = [d for d in verdict.decisions if not d.counted]
    assert len(not_counted) == 2
    assert all("already counts as the" in d.reason for d in not_counted)


def test_the_store_refuses_a_start_in_the_past_and_changes_nothing(store):
    store.publish_behavior_profile("tom", {"v": 1}, created_by="p")
    before = list(BehaviorProfile.objects.values_list("version", "effective_from", "effective_to"))
    with pytest.raises(InvalidInput, match="is in the past"):
        store.publish_behavior_profile("tom", {"v": 2}, created_by="p", effective_from="2020-01-01")
    after = list(BehaviorProfile.objects.values_list("version", "effective_from", "effective_to"))
    assert after == before


# --- paging ---------------------------------------------------------------------------------


def every_event_page_by_page(client) -> list:
    """The ids of the activity's events, following its "Older" cursor to the last page."""
    seen, url = [], reverse("memory_app:activity") + "?kind=events"
    while url:
        response = client.get(url)
        seen += [entry.row.pk for entry in response.context["entries"]]
        cursor = response.context["next_cursor"]
        url = cursor and reverse("memory_app:activity") + f"?kind=events&after={cursor}"
    return seen


def test_activity_pages_never_skip_or_repeat_rows_sharing_a_millisecond(reviewer_client, store):
    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s")
    same = "2026-11-24T10:00:00.000Z"
    for n in range(250):
        store.add_event("info", "low", f"event {n}", run_id=run.id, created_at=same)
    store.add_event("info", "low", "same instant, other form", run_id=run.id,
                    created_at="2026-11-24 11:00:00+01:00")  # fmt: skip
    seen = every_event_page_by_page(reviewer_client)
    assert len(seen) == len(set(seen)) == 251
    assert set(seen) == set(TaskEvent.objects.values_list("pk", flat=True))


# --- bounded work per request ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_searches_over_huge_turns_stay_within_bounded_memory(store):
    session = store.start_session("tom")
    huge = ("needle in a haystack " + "x" * 1_000_000)[:1_000_000]
    for _ in range(30):
        store.append_turn(session.id, "user", huge)
    from django.contrib.auth.models import User

    # A superuser: this test's database is flushed, role groups included.
    user = User.objects.create_superuser("searcher", password="pw-for-tests-only")
    clients = []
    for _ in range(8):
        c = Client()
        c.force_login(user)
        clients.append(c)
    url = reverse("memory_app:sessions") + "?q=needle"
    statuses = []

    def search(c: Client) -> None:
        statuses.append(c.get(url).status_code)
        connection.close()

    tracemalloc.start()
    try:
        threads = [threading.Thread(target=search, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert statuses == [200] * 8
    # Loading the turns would hold 30 MB per request, 240 MB in all.
    assert peak < 200 * 1024 * 1024
    assert peak < 30 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_search_export_carries_an_excerpt_not_the_whole_turn(reviewer_client, store):
    session = store.start_session("tom")
    store.append_turn(session.id, "user", "findme " + "y" * 100_000)
    response = reviewer_client.get(reverse("memory_app:sessions") + "?q=findme&format=json")
    exported = b"".join(response.streaming_content)
    assert b"findme" in exported
    assert len(exported) < 2_000
    assert b'"content_length": 100007' in exported


# --- sign-in behind a proxy, password reset -------------------------------------------------


def _fail_sign_in(client: Client, **headers) -> int:
    return client.post(
        reverse("login"), {"username": "nobody", "password": "wrong"}, **headers
    ).status_code


@override_settings(BEHIND_PROXY=True, AXES_FAILURE_LIMIT=3)
def test_lockout_counts_the_client_address_the_proxy_reports(client):
    for _ in range(3):
        _fail_sign_in(client, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert _fail_sign_in(client, HTTP_X_FORWARDED_FOR="203.0.113.7") == 429
    # Another client behind the same proxy (same REMOTE_ADDR) is not locked out.
    from axes.models import AccessAttempt

    assert AccessAttempt.objects.filter(ip_address="203.0.113.7").exists()
    assert not AccessAttempt.objects.filter(ip_address="127.0.0.1").exists()


@override_settings(BEHIND_PROXY=True)
def test_behind_a_proxy_the_entry_it_appended_counts_not_one_the_client_sent(rf):
    from memory_app.access import client_address

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7", REMOTE_ADDR="10.0.0.1")
    assert client_address(request) == "203.0.113.7"


def test_without_a_proxy_the_forwarded_header_is_ignored(rf):
    from memory_app.access import client_address

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="192.0.2.1")
    assert client_address(request) == "192.0.2.1"


def test_password_reset_is_off_without_email(client):
    assert client.get(reverse("password_reset")).status_code == 404
    assert client.get(reverse("password_reset_done")).status_code == 404


@override_settings(MAIL_HOST="smtp.example.org")
def test_password_reset_is_on_with_email(client):
    assert client.get(reverse("password_reset")).status_code == 200


# SQLite keeps any value in any column; PostgreSQL refuses such a row.
@pytest.mark.engine("sqlite")
def test_a_non_number_in_a_number_column_is_marked_on_the_page(reviewer_client, proposal):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE skill_to_logic_proposals SET determinism_score = 'very' WHERE id = %s",
            [proposal.pk],
        )
    html = body(reviewer_client.get(reverse("memory_app:proposal", args=[proposal.pk])))
    assert '<span class="ts-raw" title="not a number">very</span>' in html


# SQLite keeps any value in any column; PostgreSQL refuses such a row.
@pytest.mark.engine("sqlite")
def test_the_admin_shows_text_in_number_columns_as_stored(admin_client_all, store, proposal):
    """Django's number formatting fails on "1.2.3"; every admin page shows it as stored."""
    _validated(store, proposal)
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE validation_results SET build_pass = '1.2.3'")
        cursor.execute("UPDATE skills_learned SET confidence = '4.5.6'")
    for url in [
        reverse("admin:memory_app_proposal_change", args=[proposal.pk]),
        reverse("admin:memory_app_validationresult_changelist"),
        reverse("admin:memory_app_skill_changelist"),
    ]:
        response = admin_client_all.get(url)
        assert response.status_code == 200, url
        assert "not a number" in body(response), url


def test_activity_pages_order_every_time_form_by_instant_then_id(reviewer_client, store):
    from memory_app.overview.activity import Entry

    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s")
    forms = [
        "2026-11-24T10:00:00.000Z",  # canonical: read through the index
        "2026-11-24 11:00:00+01:00",  # the same instant, another form
        "2026-11-24T09:59:59.999Z",
        "2026-02-30T10:00:00.000Z",  # canonical shape, no such day: unreadable
        "0000-01-01T00:00:00.000Z",  # canonical shape, year 0: unreadable
        "2026-11-24T24:00:00.000Z",  # canonical shape, hour 24: unreadable
        "2026-00-10T10:00:00.000Z",  # canonical shape, month 0: unreadable
        "yesterday",
        "2026-11-25",
    ]
    rows = []
    for n in range(270):
        event = TaskEvent.objects.create(
            workflow_run=run, event_type="info", event_level="low", message=f"e{n}",
            created_at=forms[n % len(forms)],
        )  # fmt: skip
        rows.append(Entry("event", event.created_at, event))
    expected = [e.row.pk for e in sorted(rows, key=lambda e: e.key, reverse=True)]
    seen = every_event_page_by_page(reviewer_client)
    assert seen == expected
    exported = reviewer_client.get(reverse("memory_app:activity") + "?kind=events&format=json")
    assert [r["id"] for r in json.loads(b"".join(exported.streaming_content))] == expected


def test_an_id_with_nul_has_a_page_only_where_the_engine_can_hold_it(reviewer_client, store):
    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s")
    odd = "a\x00b"
    urls = [
        reverse("memory_app:session", args=[odd]),
        reverse("memory_app:workflow", args=[odd]),
        reverse("memory_app:proposal", args=[odd]),
        reverse("memory_app:profile", args=["behavior", odd]),
        reverse("memory_app:workflow", args=[run.id]) + "?step=a%00b",
    ]
    for url in urls:  # no such row on either engine: PostgreSQL's refusal is not a 500
        assert reviewer_client.get(url).status_code == 404, url
    if connection.vendor == "sqlite":  # SQLite keeps the id, and its page is found
        store.start_session("tom", session_id=odd)
        assert reviewer_client.get(urls[0]).status_code == 200
