"""Profile pages: history, windows, active-at, diffs, publishing; and immutability."""

import subprocess
import sys

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from memory_app import jsondiff
from memory_app.models import AppendOnlyError, BehaviorProfile, PersonalityProfile
from tests.helpers import REPO, body, count_queries, days_ahead, start_together

pytestmark = pytest.mark.django_db


def profile_url(name="tom", kind="behavior", query=""):
    return reverse("memory_app:profile", args=[kind, name]) + query


def publish_url(name="tom", kind="behavior"):
    return reverse("memory_app:publish_profile", args=[kind, name])


@pytest.fixture
def tom(store, back_then):
    """Three behavior versions of tom: January, March, June 2026."""
    docs = [
        {"tone": "calm", "escalation": {"threshold": 0.9}, "guardrails": ["a"]},
        {"tone": "calm", "escalation": {"threshold": 0.8, "notify": ["ops"]}, "guardrails": ["a"]},
        {"tone": "brisk", "escalation": {"threshold": 0.8}, "guardrails": ["a", "b"]},
    ]
    with back_then():
        for month, doc in zip((1, 3, 6), docs, strict=True):
            store.publish_behavior_profile(
                "tom", doc, created_by="paula", rationale=f"month {month}",
                source_ref=f"review-{month}", effective_from=f"2026-{month:02d}-01T00:00:00Z",
            )  # fmt: skip
    store.publish_personality_profile("tom", {"warmth": 1}, created_by="paula")
    return BehaviorProfile.objects.versions_of("tom")


@pytest.fixture
def admin_client(client, profile_admin):
    client.force_login(profile_admin)
    return client


# --- the diff -------------------------------------------------------------------------------


def test_diff_marks_added_removed_changed_and_nested_keys():
    changes = jsondiff.diff(
        {"a": 1, "b": {"c": 2, "d": [1, 2]}, "gone": True},
        {"a": 1, "b": {"c": 3, "d": [1, 2, 3]}, "new": {"x": None}},
    )
    kinds = {c.path: c.kind for c in changes}
    assert kinds == {
        "a": "same",
        "b.c": "changed",
        "b.d[0]": "same",
        "b.d[1]": "same",
        "b.d[2]": "added",
        "gone": "removed",
        "new.x": "added",
    }
    changed = next(c for c in changes if c.path == "b.c")
    assert (changed.before, changed.after) == ("2", "3")


def test_diff_tells_types_apart():
    assert jsondiff.diff({"a": 1}, {"a": True})[0].kind == "changed"
    assert jsondiff.diff({"a": 1}, {"a": "1"})[0].kind == "changed"


# --- pages ----------------------------------------------------------------------------------


def test_profile_list_shows_active_version_count_and_last_change(reviewer_client, tom, store):
    store.publish_behavior_profile("future", {}, created_by="p", effective_from="2999-01-01")
    html = body(reviewer_client.get(reverse("memory_app:profiles")))
    assert ">tom</a>" in html
    assert '<td data-label="Active now">v3</td>' in html
    assert '<td data-label="Active now">v1</td>' in html  # the personality profile
    assert "none active" in html  # "future" only starts in 2999
    assert '<td data-label="Versions" class="num">3</td>' in html


def test_profile_page_shows_windows_authors_rationale_and_active_now(reviewer_client, tom):
    html = body(reviewer_client.get(profile_url()))
    assert html.index('id="v3"') < html.index('id="v2"') < html.index('id="v1"')
    assert "active now" in html
    assert "month 3" in html
    assert "review-3" in html
    assert "<em>open</em>" in html
    assert html.count("by paula") == 3


def test_active_at_gives_the_same_answer_as_the_store(reviewer_client, tom, store):
    for moment in ["2026-02-15", "2026-03-01T00:00:00Z", "2026-05-31 23:59:59", "2025-01-01"]:
        response = reviewer_client.get(profile_url(query=f"?at={moment}"), HTTP_HX_REQUEST="true")
        expected = store.latest_active_behavior_profile("tom", moment)
        assert response.context["active_at"] == expected
        html = body(response)
        assert html.lstrip().startswith('<div id="active">')
        if expected:
            assert f"v{expected.version}</a> was active" in html
        else:
            assert "no version was active" in html
    bad = body(reviewer_client.get(profile_url(query="?at=later")))
    assert "Enter an ISO-8601" in bad


def test_diff_defaults_to_the_newest_against_its_predecessor(reviewer_client, tom):
    response = reviewer_client.get(profile_url())
    assert (response.context["base"].version, response.context["compare"].version) == (2, 3)
    kinds = {c.path: c.kind for c in response.context["changes"]}
    assert kinds["tone"] == "changed"
    assert kinds["escalation.notify[0]"] == "removed"
    assert kinds["guardrails[1]"] == "added"


def test_comparison_base_lives_in_the_url(reviewer_client, tom):
    response = reviewer_client.get(profile_url(query="?base=1&compare=2"), HTTP_HX_REQUEST="true")
    html = body(response)
    assert html.lstrip().startswith('<section id="compare">')
    kinds = {c.path: c.kind for c in response.context["changes"]}
    assert kinds == {
        "escalation.notify[0]": "added",
        "escalation.threshold": "changed",
        "guardrails[0]": "same",
        "tone": "same",
    }
    assert reviewer_client.get(profile_url(query="?base=x&compare=99")).status_code == 200


def test_gaps_and_overlaps_from_other_writers_are_warned(reviewer_client):
    rows = [
        (1, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        (2, "2026-03-01T00:00:00Z", None),  # gap before, still open...
        (3, "2026-02-15 00:00:00", "2026-04-01T00:00:00+02:00"),  # ...and overlapped
        (4, "someday", None),
    ]
    for version, start, end in rows:
        BehaviorProfile.objects.create(
            profile_name="odd", version=version, behavior_json="{}", effective_from=start,
            effective_to=end, created_at=start, created_by="other-writer",
        )  # fmt: skip
    html = body(reviewer_client.get(profile_url("odd")))
    assert "gap: nothing is in effect from 2026-02-01T00:00:00Z" in html
    assert "overlap: v2 is still open while v3 starts" in html
    assert "unreadable effective_from: &#x27;someday&#x27;" in html


def test_unknown_profile_or_kind_is_404(reviewer_client, tom):
    assert reviewer_client.get(profile_url("nobody")).status_code == 404
    assert reviewer_client.get("/profiles/mood/tom/").status_code == 404


def test_profile_pages_need_a_role(outsider_client, tom):
    for url in [reverse("memory_app:profiles"), profile_url(), publish_url()]:
        assert outsider_client.get(url).status_code == 403


def test_profile_page_query_count_is_constant(reviewer_client, tom, store, clock):
    few = count_queries(reviewer_client, profile_url())
    for month in range(7, 13):
        store.publish_behavior_profile(
            "tom", {"m": month}, created_by="p", rationale="r",
            effective_from=days_ahead(clock, 30 * month),
        )  # fmt: skip
    assert count_queries(reviewer_client, profile_url()) == few


def test_transcript_links_each_turn_to_the_versions_then_active(reviewer_client, tom, store):
    session = store.start_session("tom")
    store.append_turn(session.id, "user", "in february", created_at="2026-02-10T00:00:00Z")
    store.append_turn(session.id, "user", "in july", created_at="2026-07-10T00:00:00Z")
    store.append_turn(session.id, "user", "long ago", created_at="2020-01-01T00:00:00Z")
    response = reviewer_client.get(reverse("memory_app:session", args=[session.id]))
    turns = response.context["turns"]
    assert [t.behavior_version.version if t.behavior_version else None for t in turns] == [
        1,
        3,
        None,
    ]
    html = body(response)
    assert 'href="/profiles/behavior/tom/#v1"' in html
    assert 'href="/profiles/behavior/tom/#v3"' in html
    few = count_queries(reviewer_client, reverse("memory_app:session", args=[session.id]))
    for n in range(20):
        store.append_turn(session.id, "assistant", f"more {n}")
    assert count_queries(reviewer_client, reverse("memory_app:session", args=[session.id])) == few


# --- publishing -------------------------------------------------------------------------------


def test_publishing_previews_the_diff_then_publishes_and_names_the_version(
    admin_client, profile_admin, tom, clock
):
    start = days_ahead(clock, 270)
    data = {
        "document": '{"tone": "warm"}',
        "rationale": "friendlier",
        "effective_from": start,
        "source_ref": "ticket-9",
        "created_by": "mallory",
    }
    preview = admin_client.post(publish_url(), data)
    assert preview.status_code == 200
    html = body(preview)
    assert "What v4 changes against v3" in html
    assert '<tr class="change-changed"><td><code>tone</code>' in html
    assert '<tr class="change-removed"><td><code>escalation.threshold</code>' in html
    assert "v3's open window closes then" in html
    assert BehaviorProfile.objects.count() == 3  # nothing published by a preview
    response = admin_client.post(publish_url(), data | {"confirm": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == profile_url()
    assert (
        f"Published tom v4, in effect from {start}T00:00:00.000Z, open-ended; "
        "v3 now ends there." in body(response)
    )
    versions = list(BehaviorProfile.objects.versions_of("tom"))
    newest, previous = versions[0], versions[1]
    assert (newest.version, newest.created_by, newest.rationale) == (
        4,
        profile_admin.username,
        "friendlier",
    )
    assert newest.effective_from == previous.effective_to == f"{start}T00:00:00.000Z"
    assert newest.effective_to is None


def test_publish_defaults_to_now_and_may_be_scheduled(admin_client, tom, store):
    admin_client.post(publish_url(), {"document": "{}", "rationale": "now", "confirm": "1"})
    assert store.latest_active_behavior_profile("tom").version == 4
    admin_client.post(
        publish_url(),
        {"document": "{}", "rationale": "later", "effective_from": "2999-01-01", "confirm": "1"},
    )
    assert store.latest_active_behavior_profile("tom").version == 4
    assert store.latest_active_behavior_profile("tom", "2999-01-02").version == 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"document": "{oops", "rationale": "x"}, "invalid JSON"),
        ({"document": "[1, 2]", "rationale": "x"}, "must be a JSON object"),
        ({"document": "{}", "rationale": "  "}, "Say why"),
        ({"document": "{}", "rationale": "x", "effective_from": "2026-02-01"}, "is in the past"),
        ({"document": "{}", "rationale": "x", "effective_from": "soon"}, "ISO-8601"),
    ],
)
def test_refused_publish_says_why_and_saves_nothing(admin_client, tom, data, message):
    before = list(BehaviorProfile.objects.values_list("version", "effective_to"))
    for confirmed in ({}, {"confirm": "1"}):
        response = admin_client.post(publish_url(), data | confirmed)
        assert response.status_code == 422  # the form again, with why
        assert message in body(response)
    assert list(BehaviorProfile.objects.values_list("version", "effective_to")) == before


def test_only_profile_admins_publish(reviewer_client, client, ops, tom):
    assert (
        reviewer_client.post(publish_url(), {"document": "{}", "rationale": "x"}).status_code == 403
    )
    client.force_login(ops)
    assert client.post(publish_url(), {"document": "{}", "rationale": "x"}).status_code == 403
    assert BehaviorProfile.objects.count() == 3


def test_new_profile_starts_at_version_one(admin_client):
    response = admin_client.get(reverse("memory_app:new_profile") + "?kind=personality&name=ox/ide")
    assert response["Location"] == publish_url("ox/ide", "personality")
    admin_client.post(
        publish_url("ox/ide", "personality"),
        {"document": "{}", "rationale": "first", "confirm": "1"},
    )
    assert PersonalityProfile.objects.get(profile_name="ox/ide").version == 1


# --- immutability -------------------------------------------------------------------------------


def test_published_versions_cannot_be_changed_through_the_orm(tom):
    version = BehaviorProfile.objects.get(profile_name="tom", version=1)
    version.rationale = "rewritten"
    with pytest.raises(AppendOnlyError, match="publish a new version"):
        version.save()
    with pytest.raises(AppendOnlyError):
        BehaviorProfile.objects.filter(pk=version.pk).update(rationale="x")
    with pytest.raises(AppendOnlyError):
        version.delete()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE behavior_profiles SET behavior_json = '{}' WHERE version = 1",
        "UPDATE behavior_profiles SET effective_to = '2030-01-01' WHERE version = 1",
        "UPDATE behavior_profiles SET effective_from = '2020-01-01' WHERE version = 3",
        "DELETE FROM behavior_profiles WHERE version = 2",
        "UPDATE personality_profiles SET personality_json = '{}'",
    ],
)
def test_published_versions_cannot_be_changed_in_the_database(tom, sql):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def test_the_open_window_may_be_closed_once(tom):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE behavior_profiles SET effective_to = '2027-01-01' WHERE version = 3")
    assert BehaviorProfile.objects.get(version=3).effective_to == "2027-01-01"


def test_two_admins_publishing_at_once_get_distinct_versions(shared_db):
    start_at = start_together()
    publishers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.publish_process", "tom", label, start_at],
            cwd=REPO,
            env=shared_db.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for label in ("alice", "bob")
    ]
    outputs = [p.communicate(timeout=120) for p in publishers]
    assert [p.returncode for p in publishers] == [0, 0], outputs
    results = sorted(out.strip() for out, _ in outputs)
    # Both published (distinct numbers) or one got a clear refusal; never a duplicate.
    assert results == ["published v1", "published v2"] or (
        results[0] == "published v1" and results[1].startswith("refused:")
    )
    rows = shared_db.execute(
        "SELECT version, effective_from, effective_to FROM behavior_profiles ORDER BY version"
    )
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    if len(rows) == 2:
        assert rows[0][2] == rows[1][1]  # no overlap: v1 closed where v2 starts
