"""Links in webhooks, Slack messages and digests point at the site's own address: an
explicitly set TOM_BASE_URL, else the address a person last signed in at; and the endpoint
admin form shows what it means and nothing internal."""

import pytest
from django.core import mail
from django.urls import reverse

from memory_app.models import SiteAddress, WebhookDelivery, WebhookEndpoint
from memory_app.notify import notifications
from tests.helpers import PASSWORD, Receiver, decide, validate

pytestmark = pytest.mark.django_db

HOST = "dash.example.org:8443"


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.server.shutdown()


@pytest.fixture
def unset_base_url(settings):
    settings.TOM_BASE_URL = ""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "dash.example.org", "testserver"]
    return settings


def sign_in(client, user, host=HOST, secure=True):
    response = client.post(
        reverse("login"),
        {"username": user.username, "password": PASSWORD},
        HTTP_HOST=host,
        secure=secure,
    )
    assert response.status_code == 302


def delivered_bodies(receiver, store, proposal) -> list:
    WebhookEndpoint.objects.create(
        name="j", url=receiver.url("/json"), events=["decision.recorded"], format="json"
    )
    WebhookEndpoint.objects.create(
        name="s", url=receiver.url("/slack"), events=["decision.recorded"], format="slack"
    )
    validate(store, proposal)
    decide(store, proposal, "bob", "human")
    notifications.dispatch.call()
    notifications.send.call(list(WebhookDelivery.objects.values_list("pk", flat=True)))
    return [*receiver.bodies("/json"), *receiver.bodies("/slack")]


def test_links_point_where_a_person_last_signed_in(
    unset_base_url, client, ops, receiver, store, proposal
):
    sign_in(client, ops)
    page = reverse("memory_app:proposal", args=[proposal.pk])
    (document, slack) = delivered_bodies(receiver, store, proposal)
    assert document["url"] == f"https://{HOST}{page}"
    assert f"<https://{HOST}{page}|" in slack["text"]
    unset_base_url.SENDS_EMAIL = True
    ops.email = "oscar@example.org"
    ops.save()
    notifications.digests_now()
    (message,) = mail.outbox
    assert f"https://{HOST}{page}" in message.body
    # Served from somewhere else later: links follow.
    sign_in(client, ops, host="testserver", secure=False)
    assert notifications.link(page) == f"http://testserver{page}"


def test_an_explicit_tom_base_url_wins(unset_base_url, client, ops, receiver, store, proposal):
    unset_base_url.TOM_BASE_URL = "https://tom.example"
    sign_in(client, ops)
    (document, _) = delivered_bodies(receiver, store, proposal)
    assert document["url"].startswith("https://tom.example/proposals/")
    assert not SiteAddress.objects.exists()


def test_a_login_made_in_code_records_no_address(unset_base_url, client, ops):
    client.force_login(ops)
    assert not SiteAddress.objects.exists()
    assert notifications.link("/x/") == "http://127.0.0.1:8000/x/"  # make run's, until then


# --- the endpoint's admin form ----------------------------------------------------------------


def test_the_endpoint_form_shows_its_help_text_and_no_internal_field(admin_client):
    page = admin_client.get(reverse("admin:memory_app_webhookendpoint_add")).content.decode()
    # Shown as text: "<timestamp>.<body>", not two unknown tags a browser drops.
    assert "HMAC-SHA256 of &#x27;&lt;timestamp&gt;.&lt;body&gt;&#x27;" in page
    assert "Log index" not in page
    assert "Created at" not in page  # nothing to say before it is made
    created = WebhookEndpoint.objects.create(name="x", url="https://x.example/", events=[])
    page = admin_client.get(
        reverse("admin:memory_app_webhookendpoint_change", args=[created.pk])
    ).content.decode()
    assert "Log index" not in page
    assert "Created at" in page
