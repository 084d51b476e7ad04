"""Scheduled profile versions: badged wherever they show, withdrawn before they start
(append-only: who, when and why kept; the version before stays in effect), and the publish
form's refusals beside the field they are about."""

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from memory_app.models import BehaviorProfile, ProfileWithdrawal
from memory_app.store import InvalidInput
from tests.helpers import audit_triggers_lifted, body, count_queries, days_ahead

pytestmark = pytest.mark.django_db


def profile_url(name="tom", kind="behavior"):
    return reverse("memory_app:profile", args=[kind, name])


def withdraw_url(version, name="tom", kind="behavior"):
    return reverse("memory_app:withdraw_profile", args=[kind, name, version])


@pytest.fixture
def tom(store, clock):
    """tom v1 in effect now, v2 scheduled ten days ahead (v1's window closes then)."""
    store.publish_behavior_profile("tom", {"tone": "calm"}, created_by="paula")
    store.publish_behavior_profile(
        "tom", {"tone": "brisk"}, created_by="paula", effective_from=days_ahead(clock, 10)
    )
    return {v.version: v for v in BehaviorProfile.objects.versions_of("tom")}


@pytest.fixture
def admin_client(client, profile_admin):
    client.force_login(profile_admin)
    return client


def written() -> list:
    """Every row a withdrawal could write or change."""
    return [
        list(BehaviorProfile.objects.order_by("version").values_list("id", "effective_to")),
        list(ProfileWithdrawal.objects.values_list("id", flat=True)),
    ]


# --- scheduled ------------------------------------------------------------------------------


def test_a_scheduled_version_is_badged_on_the_list_and_its_page(reviewer_client, tom):
    listed = body(reviewer_client.get(reverse("memory_app:profiles")))
    row = re.search(r'<td data-label="Scheduled">(.*?)</td>', listed, re.S).group(1)
    assert 'class="badge future">scheduled<' in row
    assert ">v2</a>" in row
    page = body(reviewer_client.get(profile_url()))
    v2 = page[page.index('id="v2"') : page.index('id="v1"')]
    assert 'class="badge future">scheduled<' in v2
    v1 = page[page.index('id="v1"') :]
    assert ">scheduled<" not in v1.split("</li>")[0]


def test_a_schedule_is_not_marked_as_dated_in_the_future(reviewer_client, tom):
    # A window's start or end lies ahead by design: "scheduled" says so; the "in the
    # future" mark is for rows dated ahead of now, which a schedule is not.
    for url in (reverse("memory_app:profiles"), profile_url()):
        assert "in the future" not in body(reviewer_client.get(url))


def test_a_started_version_is_not_scheduled(reviewer_client, tom, clock):
    clock.set(tom[2].effective_from, ticking=False)
    listed = body(reviewer_client.get(reverse("memory_app:profiles")))
    assert ">scheduled<" not in listed
    assert ">scheduled<" not in body(reviewer_client.get(profile_url()))


def test_the_list_s_query_count_does_not_grow_with_profiles(reviewer_client, tom, store, clock):
    few = count_queries(reviewer_client, reverse("memory_app:profiles"))
    for name in ("ann", "bob", "cy"):
        store.publish_behavior_profile(name, {}, created_by="p")
        store.publish_behavior_profile(
            name, {}, created_by="p", effective_from=days_ahead(clock, 5)
        )
        store.withdraw_behavior_profile(name, 2, withdrawn_by="p", reason="no")
    assert count_queries(reviewer_client, reverse("memory_app:profiles")) == few


# --- withdrawing from the page ------------------------------------------------------------------


def test_a_profile_admin_withdraws_a_scheduled_version(admin_client, tom, store, profile_admin):
    page = body(admin_client.get(profile_url()))
    assert f'action="{withdraw_url(2)}"' in page
    assert "csrfmiddlewaretoken" in page
    response = admin_client.post(withdraw_url(2), {"reason": "the threshold <was> wrong"})
    assert response.status_code == 302
    (withdrawal,) = ProfileWithdrawal.objects.all()
    assert (withdrawal.version_id, withdrawal.withdrawn_by) == (tom[2].pk, profile_admin.username)
    # v1 is in effect again, for every reader of the v1 rows, after v2's start too.
    assert BehaviorProfile.objects.get(version=1).effective_to is None
    v2 = BehaviorProfile.objects.get(version=2)
    assert v2.effective_to == v2.effective_from
    assert store.latest_active_behavior_profile("tom", "2999-01-01").version == 1
    page = body(admin_client.get(profile_url()))
    shown = page[page.index('id="v2"') : page.index('id="v1"')]
    assert 'class="badge withdrawn">withdrawn<' in shown
    assert f"Withdrawn by {profile_admin.username}" in shown
    assert "the threshold &lt;was&gt; wrong" in shown
    assert ">scheduled<" not in shown
    assert "overlap" not in page  # an empty window is no overlap
    assert "gap:" not in page
    assert f'action="{withdraw_url(2)}"' not in page  # nothing left to withdraw


@pytest.mark.engine("sqlite")  # PostgreSQL's version column holds integers alone
def test_a_scheduled_version_another_writer_numbered_with_text_is_offered_no_withdrawal(
    admin_client, tom
):
    """No withdrawal (nor its URL, whose version is a number) can name it: the page says
    nothing of withdrawing instead of failing to build the form's address."""
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE behavior_profiles SET version = 'two' WHERE version = 2")
    response = admin_client.get(profile_url())
    assert response.status_code == 200
    assert 'class="withdraw"' not in body(response)


def test_only_profile_admins_withdraw(reviewer_client, client, ops, tom):
    before = written()
    assert reviewer_client.post(withdraw_url(2), {"reason": "x"}).status_code == 403
    client.force_login(ops)
    assert client.post(withdraw_url(2), {"reason": "x"}).status_code == 403
    assert "Withdraw v2" not in body(client.get(profile_url()))
    assert written() == before


def test_withdrawing_needs_the_csrf_token(profile_admin, tom):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(profile_admin)
    before = written()
    assert strict.post(withdraw_url(2), {"reason": "x"}).status_code == 403
    assert written() == before


def test_a_get_is_not_a_withdrawal(admin_client, tom):
    assert admin_client.get(withdraw_url(2)).status_code == 405


@pytest.mark.parametrize(
    ("version", "reason", "moment_days", "message"),
    [
        (2, "  ", 0, "Say why this version is withdrawn."),
        (1, "x", 0, "tom v1 is not the latest version (v2 is)"),
        (2, "x", 10, "only a version that has not started yet can be withdrawn"),
        (2**63, "x", 0, "version must be a whole number"),
    ],
)
def test_a_refused_withdrawal_says_why_and_writes_nothing(
    admin_client, tom, clock, version, reason, moment_days, message
):
    if moment_days:
        clock.set(tom[2].effective_from, ticking=False)
    before = written()
    response = admin_client.post(withdraw_url(version), {"reason": reason})
    assert response.status_code == 422
    assert message in body(response)
    assert written() == before


def test_withdrawing_twice_is_refused(admin_client, tom):
    admin_client.post(withdraw_url(2), {"reason": "x"})
    before = written()
    response = admin_client.post(withdraw_url(2), {"reason": "again"})
    assert response.status_code == 422
    assert "tom v2 is already withdrawn" in body(response)
    assert written() == before


def test_an_unknown_version_or_profile_is_404(admin_client, tom):
    assert admin_client.post(withdraw_url(9), {"reason": "x"}).status_code == 404
    assert admin_client.post(withdraw_url(1, name="nobody"), {"reason": "x"}).status_code == 404


@given(
    reason=st.text(max_size=40),
    extra=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    version=st.integers(min_value=0, max_value=2**70),
)
def test_any_withdrawal_post_gets_an_answer_and_a_refusal_writes_nothing(
    admin_client, tom, reason, extra, version
):
    before = written()
    response = admin_client.post(withdraw_url(version), extra | {"reason": reason})
    assert response.status_code in (302, 404, 422)
    if response.status_code != 302:
        assert written() == before
    else:  # the one withdrawal there is to make (later examples find it made)
        assert version == 2


def test_a_later_publish_may_start_before_a_withdrawn_version(admin_client, tom, clock):
    admin_client.post(withdraw_url(2), {"reason": "x"})
    start = days_ahead(clock, 5)
    response = admin_client.post(
        reverse("memory_app:publish_profile", args=["behavior", "tom"]),
        {"document": "{}", "rationale": "sooner", "effective_from": start, "confirm": "1"},
    )
    assert response.status_code == 302
    v3 = BehaviorProfile.objects.get(version=3)
    assert v3.effective_from == f"{start}T00:00:00.000Z"
    assert BehaviorProfile.objects.get(version=1).effective_to == v3.effective_from


# --- the database keeps it so, for every writer -------------------------------------------------


def test_a_closed_window_reopens_only_for_a_withdrawal(tom, store):
    reopen = "UPDATE behavior_profiles SET effective_to = NULL WHERE version = 1"
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(reopen)
    store.withdraw_behavior_profile("tom", 2, withdrawn_by="paula", reason="x")
    assert BehaviorProfile.objects.get(version=1).effective_to is None
    # Closed again by a later version, v1 cannot be reopened by v2's old withdrawal.
    store.publish_behavior_profile("tom", {}, created_by="paula")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(reopen)
    # Nor can the withdrawn version's empty window be opened.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE behavior_profiles SET effective_to = NULL WHERE version = 2")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tommemory_profile_withdrawals SET reason = 'other'",
        "DELETE FROM tommemory_profile_withdrawals",
    ],
)
def test_withdrawals_are_append_only_in_the_database(tom, store, sql):
    store.withdraw_behavior_profile("tom", 2, withdrawn_by="paula", reason="x")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert ProfileWithdrawal.objects.get().reason == "x"


def test_a_withdrawn_window_closed_by_another_writer_is_refused(tom, store):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE behavior_profiles SET effective_to = '2999-01-01' WHERE version = 2")
    with pytest.raises(InvalidInput, match="only a version whose window is open"):
        store.withdraw_behavior_profile("tom", 2, withdrawn_by="paula", reason="x")
    assert not ProfileWithdrawal.objects.exists()


# --- the publish form's refusals, beside the field ---------------------------------------------


def test_a_past_start_is_refused_beside_the_field_in_the_reader_s_time(admin_client, tom):
    response = admin_client.post(
        reverse("memory_app:publish_profile", args=["behavior", "tom"]),
        {"document": "{}", "rationale": "x", "effective_from": "2026-02-01T09:00Z"},
    )
    assert response.status_code == 422
    html = body(response)
    field, after = html.index('name="effective_from"'), html.index('name="source_ref"')
    error = html.index("is in the past")
    assert field < error < after
    assert '<time datetime="2026-02-01T09:00:00.000Z"' in html[field:error]
    assert "effective_from 2026" not in html  # no raw column name and ISO text at the top


def test_a_start_before_the_latest_is_refused_beside_the_field(admin_client, tom):
    response = admin_client.post(
        reverse("memory_app:publish_profile", args=["behavior", "tom"]),
        {"document": "{}", "rationale": "x", "effective_from": tom[2].effective_from},
    )
    html = body(response)
    error = html.index("a new version must start after it")
    assert html.index('name="effective_from"') < error < html.index('name="source_ref"')
    assert f'<time datetime="{tom[2].effective_from}"' in html


def test_invalid_json_names_its_line_and_column_beside_the_field(admin_client, tom):
    document = '{\n  "tone": "calm",\n  "max_retries": 4\n  "style": "x"\n}'
    response = admin_client.post(
        reverse("memory_app:publish_profile", args=["behavior", "tom"]),
        {"document": document, "rationale": "x"},
    )
    html = body(response)
    message = "invalid JSON at line 4, column 3: Expecting &#x27;,&#x27; delimiter"
    assert message in html
    assert html.index('name="document"') < html.index(message) < html.index('name="rationale"')
