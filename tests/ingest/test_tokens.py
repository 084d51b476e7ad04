"""Ingest tokens: what /v1/traces asks of a request (a bearer token, active, known), what a
token reaches (that one URL and nothing else), and how admins issue and revoke them."""

import hashlib
import json
import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from memory_app.ingest.models import IngestSpan, IngestToken
from memory_app.models import WorkflowRun
from tests.helpers import (
    OTLP_JSON,
    PROTOBUF,
    genai_chat,
    ingested_rows,
    otlp_attributes,
    otlp_request,
    post_traces,
)

pytestmark = pytest.mark.django_db

BODY = otlp_request(genai_chat("conv-token")).SerializeToString()
SECRET = re.compile(r"tmi_[A-Za-z0-9_-]{43}")


# --- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "tmi_only-the-token"],
    ids=["none", "empty", "no-token", "blank-token", "basic", "no-scheme"],
)
def test_a_request_without_a_bearer_token_is_401_and_writes_nothing(
    client, issued_token, authorization
):
    before = ingested_rows()
    headers = {} if authorization is None else {"Authorization": authorization}
    response = post_traces(client, BODY, None, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="tommemory ingest"'
    assert response["Content-Type"] == PROTOBUF  # the Status, in the request's type
    assert ingested_rows() == before


def test_an_unknown_or_revoked_token_is_401_invalid_token(client, issued_token):
    token, secret = issued_token
    before = ingested_rows()
    unknown = "tmi_" + "A" * 43
    for sent in (unknown, secret[:-1], token.token_hash, "tmi_"):  # the stored hash is no key
        response = post_traces(client, BODY, sent, OTLP_JSON)
        assert response.status_code == 401, sent
        assert 'error="invalid_token"' in response["WWW-Authenticate"]
        assert json.loads(response.content)["code"] == 16  # UNAUTHENTICATED
    token.revoke(by="root")
    assert post_traces(client, BODY, secret).status_code == 401
    assert ingested_rows() == before


def test_the_scheme_is_read_without_case(client, issued_token):
    headers = {"Authorization": f"bearer  {issued_token[1]} "}
    assert post_traces(client, BODY, None, **headers).status_code == 200


def test_a_request_is_authenticated_before_its_body_is_judged(client, issued_token):
    """Without a token nothing about the body is answered: no 413, 415 or 400."""
    with override_settings(TOM_INGEST_MAX_BYTES=10):
        assert post_traces(client, BODY, None).status_code == 401
    assert post_traces(client, BODY, None, "text/plain").status_code == 401
    assert post_traces(client, b"\xff", None).status_code == 401


# --- a token reaches nothing else -----------------------------------------------------------


def every_url() -> list[str]:
    """A URL for every pattern the project serves, with sample values for its parts."""

    def walk(patterns, prefix: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                route = re.sub(r"<[^>]+>", "1", route)  # path() parts
                route = re.sub(r"\(\?P<\w+>[^)]*\)", "memory_app", route)  # admin's regexes
                yield "/" + route.replace("^", "").replace("$", "")

    return sorted(set(walk(get_resolver().url_patterns, "")))


def test_every_url_is_walked():
    urls = every_url()
    assert len(urls) > 100  # the dashboard and every admin page
    assert {"/v1/traces", "/sessions/1/", "/admin/memory_app/ingesttoken/add/"} <= set(urls)


# What answers without a login anyway: the sign-in pages (password reset is 404 without
# email) and the favicon's redirect to its static file.
PUBLIC = {"/accounts/login/", "/admin/login/", "/favicon.ico"}


def answer(response) -> tuple:
    return response.status_code, response.get("Location"), response.get("WWW-Authenticate")


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_token_reaches_no_other_url(client, issued_token, method):
    """Sent to every other URL, the token opens nothing: each answers as it answers anyone
    signed out (the login redirect, 401/403/404/405), or refuses the token outright (a
    page with a bearer scheme of its own), and nothing is written."""
    before = ingested_rows()
    bearer = {"Authorization": f"Bearer {issued_token[1]}"}
    for url in every_url():
        if url == "/v1/traces":
            continue
        send = getattr(client, method)
        extra = {"data": BODY, "content_type": PROTOBUF} if method == "post" else {}
        with_token = send(url, headers=bearer, **extra)
        signed_out = send(url, **extra)
        status, location, _ = answer(with_token)
        assert answer(with_token) == answer(signed_out) or status in (401, 403), url
        if status == 302 and url not in PUBLIC:
            assert location.startswith(("/accounts/login/?next=", "/admin/login/?next=")), url
        else:
            assert url in PUBLIC or status in (401, 403, 404, 405), (url, status)
        assert "_auth_user_id" not in client.session
    assert ingested_rows() == before


# --- the admin ----------------------------------------------------------------------------

ADD = "/admin/memory_app/ingesttoken/add/"
LIST = "/admin/memory_app/ingesttoken/"


@pytest.fixture
def superuser_client(client):
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests-only"))
    return client


def test_an_admin_issues_a_token_and_sees_it_once(superuser_client):
    form = superuser_client.get(ADD).content.decode()
    assert "shows it on the next page, once" in form
    response = superuser_client.post(ADD, {"name": "crm-bot prod", "source": "crm-bot"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "shown only this once" in page
    assert "no-store" in response["Cache-Control"]  # the admin's own never_cache
    (secret,) = set(SECRET.findall(page))
    token = IngestToken.objects.get(name="crm-bot prod")
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.source, token.created_by, token.hint) == ("crm-bot", "root", secret[:10])
    stored = [getattr(token, f.attname) for f in IngestToken._meta.concrete_fields]
    assert not any(secret in str(value) for value in stored)  # only its hash is kept
    assert "/v1/traces" in page
    # The token works, and no later page shows it again.
    assert post_traces(superuser_client, BODY, secret).status_code == 200
    change = reverse("admin:memory_app_ingesttoken_change", args=[token.pk])
    for url in (LIST, change):
        later = superuser_client.get(url).content.decode()
        assert secret not in later
        assert token.hint in later


def test_the_list_shows_hint_maker_time_and_revocation(superuser_client, issued_token):
    token, _ = issued_token
    token.revoke(by="olga")
    page = superuser_client.get(LIST).content.decode()
    for shown in (token.name, token.hint, "root", "olga", token.source):
        assert shown in page
    assert superuser_client.get(LIST + "?state=active").content.decode().count(token.hint) == 0


def test_revoking_in_the_admin_stops_the_token(superuser_client, issued_token):
    token, secret = issued_token
    assert post_traces(superuser_client, BODY, secret).status_code == 200
    response = superuser_client.post(
        LIST, {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert "Revoked 1 token" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.revoked_by == "root"
    assert post_traces(superuser_client, BODY, secret).status_code == 401


def test_a_token_is_never_edited_or_deleted_in_the_admin(superuser_client, issued_token):
    token, _ = issued_token
    change = reverse("admin:memory_app_ingesttoken_change", args=[token.pk])
    page = superuser_client.get(change).content.decode()
    assert 'name="name"' not in page  # read-only
    assert 'name="token_hash"' not in page
    response = superuser_client.post(change, {"name": "renamed", "token_hash": "0" * 64})
    assert response.status_code == 403
    delete = reverse("admin:memory_app_ingesttoken_delete", args=[token.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    fresh = IngestToken.objects.get(pk=token.pk)
    assert (fresh.name, fresh.token_hash) == (token.name, token.token_hash)


@pytest.mark.parametrize("role", ["outsider", "reviewer", "ops", "profile_admin", "review_admin"])
def test_no_role_sees_or_issues_tokens(client, request, issued_token, role):
    person = request.getfixturevalue(role)
    person.is_staff = True  # demo_users makes every role staff
    person.save()
    client.force_login(person)
    assert client.get(LIST).status_code == 403
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"name": "mine", "source": "me"}).status_code == 403
    assert not IngestToken.objects.filter(name="mine").exists()
    change = reverse("admin:memory_app_ingesttoken_change", args=[issued_token[0].pk])
    assert client.get(change).status_code == 403
    assert "ingesttoken" not in client.get("/admin/").content.decode()


def test_no_role_group_holds_a_token_permission():
    assert not Group.objects.filter(permissions__content_type__model="ingesttoken").exists()


def test_the_model_permissions_let_a_staff_member_issue(client, reviewer):
    """Superusers by default; anyone an administrator gives the permissions to."""
    reviewer.is_staff = True
    reviewer.save()
    reviewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_ingesttoken", "view_ingesttoken"])
    )
    client.force_login(reviewer)
    response = client.post(ADD, {"name": "granted", "source": "ci"})
    assert response.status_code == 200
    assert SECRET.search(response.content.decode())
    assert IngestToken.objects.get(name="granted").created_by == reviewer.username


def test_what_a_batch_writes_is_its_tokens_whatever_the_body_claims(client, issued_token):
    token, secret = issued_token
    other, _ = IngestToken.objects.issue("ops console", source="ops", created_by="root")
    request = otlp_request(genai_chat("conv-claims"), service=other.name)
    request.resource_spans[0].resource.attributes.extend(
        otlp_attributes({"tommemory.source": other.source, "source": other.name})
    )
    assert post_traces(client, request.SerializeToString(), secret).status_code == 200
    assert set(IngestSpan.objects.values_list("token_id", flat=True)) == {token.pk}
    assert set(WorkflowRun.objects.values_list("initiated_by", flat=True)) == {token.name}
