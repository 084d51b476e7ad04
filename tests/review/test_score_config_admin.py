"""Score configs in the admin (issue #23): review admins add and edit them, checked as the
store checks them; a config with scores keeps its kind, categories and range; none is
deleted, an archived one is no longer offered. Annotations and scores are read-only there."""

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User
from django.urls import reverse

from memory_app.models import Annotation, ScoreConfig
from tests.helpers import body

pytestmark = pytest.mark.django_db

ADD = reverse("admin:memory_app_scoreconfig_add")


def change_url(config):
    return reverse("admin:memory_app_scoreconfig_change", args=[quote(config.pk)])


def form(**values):
    return {
        "name": "helpful",
        "data_type": "categorical",
        "categories": "yes\npartly\n\nno",
        "min_value": "",
        "max_value": "",
        "description": "Did it help?",
    } | values


@pytest.fixture
def admin_client(client, review_admin):
    review_admin.is_staff = True  # demo_users makes every role staff
    review_admin.save()
    client.force_login(review_admin)
    return client


@pytest.fixture
def helpful(store):
    return store.create_score_config(
        "helpful", "categorical", created_by="rhea", categories=["yes", "no"]
    )


def test_a_review_admin_adds_a_config_through_the_store(admin_client, review_admin, clock):
    clock.set("2026-04-01T09:00:00Z", ticking=False)
    response = admin_client.post(ADD, form())
    assert response.status_code == 302, body(response)
    config = ScoreConfig.objects.get()
    assert config.categories == ["yes", "partly", "no"]
    assert config.categories_json == '["yes","partly","no"]'
    assert (config.created_by, config.created_at) == (
        review_admin.username,
        "2026-04-01T09:00:00.000Z",
    )
    assert config.description == "Did it help?"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (dict(data_type="numeric", categories="a"), "only a categorical score config has"),
        (dict(data_type="numeric", categories="", min_value="3", max_value="1"), "min_value 3 is"),
        (dict(categories=""), "needs a list of categories"),
        (dict(categories="a\na"), "categories must differ"),
        (dict(name="\u200b"), "name must say something"),
        (dict(data_type="boolean", categories="", max_value="1"), "only a numeric score config"),
    ],
)  # fmt: skip
def test_a_config_the_store_would_refuse_is_refused_by_the_form(admin_client, values, message):
    response = admin_client.post(ADD, form(**values))
    assert response.status_code == 200
    assert message in body(response)
    assert not ScoreConfig.objects.exists()


def test_a_config_with_scores_keeps_its_kind_categories_and_range(
    admin_client, helpful, store, session_with_turns
):
    store.annotate("session", session_with_turns.id, author="rita", scores={"helpful": "no"})
    response = admin_client.post(change_url(helpful), form(categories="yes\nno\nmaybe"))
    assert response.status_code == 200
    assert "helpful has scores: its kind, categories and range are fixed" in body(response)
    response = admin_client.post(change_url(helpful), form(data_type="boolean", categories=""))
    assert "are fixed (not data_type, categories_json)" in body(response)
    helpful.refresh_from_db()
    assert (helpful.categories, helpful.data_type) == (["yes", "no"], "categorical")
    # Its description and whether it is offered may change.
    response = admin_client.post(
        change_url(helpful), form(categories="yes\nno", description="Better?", archived="on")
    )
    assert response.status_code == 302, body(response)
    helpful.refresh_from_db()
    assert helpful.description == "Better?"
    assert helpful.archived_at is not None
    assert not ScoreConfig.objects.offered().exists()
    admin_client.post(change_url(helpful), form(categories="yes\nno", description="Better?"))
    helpful.refresh_from_db()
    assert helpful.archived_at is None


def test_a_config_without_scores_may_change_its_categories(admin_client, helpful):
    response = admin_client.post(change_url(helpful), form(categories="good\nbad"))
    assert response.status_code == 302, body(response)
    helpful.refresh_from_db()
    assert helpful.categories == ["good", "bad"]


def test_only_review_admins_and_superusers_manage_configs(client, reviewer, ops, helpful):
    for person in (reviewer, ops):
        person.is_staff = True
        person.save()
        client.force_login(person)
        assert client.get(ADD).status_code == 403
        assert client.post(ADD, form(name="other")).status_code == 403
        assert client.get(change_url(helpful)).status_code == 403
    assert ScoreConfig.objects.count() == 1
    client.force_login(User.objects.create_superuser("boss", password="x"))
    assert client.get(ADD).status_code == 200


def test_no_config_is_deleted(admin_client, helpful):
    delete = reverse("admin:memory_app_scoreconfig_delete", args=[quote(helpful.pk)])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert ScoreConfig.objects.filter(pk=helpful.pk).exists()


def test_annotations_are_read_only_in_the_admin(admin_client, helpful, store, session_with_turns):
    first = store.annotate("session", session_with_turns.id, author="rita", comment="first")
    edit = store.annotate(
        "session", session_with_turns.id, author="rita", scores={"helpful": "yes"},
        supersedes=first.id,
    )  # fmt: skip
    page = admin_client.get(reverse("admin:memory_app_annotation_change", args=[quote(edit.pk)]))
    assert page.status_code == 200
    assert "rita on session" in body(page)  # the superseded one, linked
    assert 'name="comment"' not in body(page)
    assert admin_client.get(reverse("admin:memory_app_annotation_add")).status_code == 403
    assert Annotation.objects.count() == 2
