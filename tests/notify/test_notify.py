"""Ops hear when they are needed: webhooks (signed, retried, logged) and email digests."""

import hashlib
import hmac
import json
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from memory_app.models import DeliveryStatus, Digest, Proposal, WebhookDelivery, WebhookEndpoint
from memory_app.notify import notifications
from tests.helpers import Receiver, decide, validate

pytestmark = pytest.mark.django_db

ALL_EVENTS = [
    "decision.needed",
    "decision.recorded",
    "proposal.approved",
    "proposal.rejected",
    "proposal.promoted",
    "profile.published",
]


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.server.shutdown()


def endpoint(receiver, path="/ok", events=ALL_EVENTS, fmt="json", **extra) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=path, url=receiver.url(path), events=events, format=fmt, **extra
    )


def deliver_all() -> None:
    """What the worker does: dispatch new log entries, then send what that made."""
    notifications.dispatch.call()
    pending = WebhookDelivery.objects.exclude(status__in=["delivered", "failed"])
    ids = list(pending.values_list("pk", flat=True))
    if ids:
        notifications.send.call(ids)


def another_writer_approves(proposal) -> None:
    """The agent runtime's approval, written behind the store."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO approvals (id, proposal_id, approver, approval_type, decision, decided_at)"
            " VALUES ('raw', %s, 'runtime-bot', 'policy', 'approved', %s)",
            [proposal.pk, "2999-01-01T00:00:00Z"],
        )


@pytest.fixture
def waiting(store, proposal):
    """The high-risk proposal validated and approved by a human: it waits for policy."""
    validate(store, proposal)
    decide(store, proposal, "ann", "human")
    return proposal


# --- events ---------------------------------------------------------------------------


def test_a_decision_is_posted_signed_with_its_timestamp(receiver, store, waiting, clock):
    hook = endpoint(receiver)
    decide(store, waiting, "bob", "policy")
    deliver_all()
    (request,) = [r for r in receiver.received if '"decision.recorded"' in r["body"]]
    headers, body = request["headers"], request["body"]
    timestamp = headers["X-Tom-Timestamp"]
    assert abs(int(timestamp) - clock().timestamp()) < 60
    expected = hmac.new(hook.secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    assert headers["X-Tom-Signature"] == f"sha256={expected.hexdigest()}"
    assert headers["X-Tom-Event"] == "decision.recorded"
    document = json.loads(body)
    assert document["decision"] == {"type": "policy", "decision": "approved", "by": "bob"}
    assert document["proposal"]["id"] == waiting.pk
    assert document["url"].endswith(reverse("memory_app:proposal", args=[waiting.pk]))


def test_a_decision_needed_names_the_missing_types(receiver, store, waiting):
    endpoint(receiver, events=["decision.needed"])
    decide(store, waiting, "bob", "policy")
    deliver_all()
    (needed,) = receiver.bodies("/ok")
    assert needed["event"] == "decision.needed"
    assert needed["proposal"]["missing"] == ["security"]
    assert "waits for security" in needed["summary"]


def test_status_changes_and_profiles_are_their_own_events(receiver, store, waiting):
    endpoint(receiver, events=["proposal.approved", "proposal.promoted", "profile.published"])
    decide(store, waiting, "bob", "policy")
    decide(store, waiting, "cy", "security")
    store.record_deploy_outcome(waiting.pk, deployment_target="tom-runtime", status="succeeded")
    store.publish_behavior_profile("tom", {"tone": "calm"}, created_by="paula")
    deliver_all()
    events = sorted(b["event"] for b in receiver.bodies("/ok"))  # sent side by side
    assert events == ["profile.published", "proposal.approved", "proposal.promoted"]


def test_a_rejection_is_an_event(receiver, store, waiting):
    endpoint(receiver, events=["proposal.rejected"])
    decide(store, waiting, "bob", "policy", decision="rejected", notes="too broad")
    deliver_all()
    (rejected,) = receiver.bodies("/ok")
    assert rejected["proposal"]["status"] == "rejected"


def test_rows_another_writer_adds_are_events_too(receiver, store, waiting):
    endpoint(receiver, events=["decision.recorded"])
    another_writer_approves(waiting)
    deliver_all()  # the dispatcher takes the row into the log first
    (recorded,) = receiver.bodies("/ok")
    assert recorded["decision"]["by"] == "runtime-bot"


def test_an_event_occurs_at_the_counted_time_and_names_another_writer_s_date(
    receiver, store, waiting, clock
):
    endpoint(receiver, events=["decision.recorded"])
    clock.set("2026-12-06T10:00:00.000Z", ticking=False)
    another_writer_approves(waiting)  # dated 2999: it counts from when the log took it in
    decide(store, waiting, "cy", "security")  # the store's own, logged as it is written
    clock.set("2026-12-06T11:00:00.000Z", ticking=False)
    with connection.cursor() as cursor:  # dated before what the log had already recorded
        cursor.execute(
            "INSERT INTO approvals (id, proposal_id, approver, approval_type, decision, decided_at)"
            " VALUES ('back', %s, 'late-bot', 'human', 'approved', '2026-01-01 00:00:00')",
            [waiting.pk],
        )
    deliver_all()
    by = {body["decision"]["by"]: body for body in receiver.bodies("/ok")}
    assert by["runtime-bot"]["occurred_at"] == "2026-12-06T10:00:00.000Z"
    assert by["runtime-bot"]["claimed_at"] == "2999-01-01T00:00:00Z"
    assert by["late-bot"]["occurred_at"] == "2026-12-06T10:00:00.000Z"
    assert by["late-bot"]["claimed_at"] == "2026-01-01 00:00:00"
    assert by["cy"]["occurred_at"] == "2026-12-06T10:00:00.000Z"
    assert "claimed_at" not in by["cy"]


def test_an_endpoint_hears_only_of_what_happens_after_it_is_added(receiver, store, waiting):
    endpoint(receiver)
    deliver_all()
    assert receiver.received == []
    assert WebhookDelivery.objects.count() == 0


def test_each_event_is_delivered_once(receiver, store, waiting):
    endpoint(receiver, events=["decision.recorded"])
    decide(store, waiting, "bob", "policy")
    deliver_all()
    deliver_all()
    assert len(receiver.received) == 1


def test_a_governed_write_enqueues_the_dispatcher_when_it_commits(
    store, waiting, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        decide(store, waiting, "bob", "policy")
    assert DBTaskResult.objects.filter(
        task_path="memory_app.notify.notifications.dispatch"
    ).exists()


# --- formats ----------------------------------------------------------------------------


def test_slack_and_teams_bodies_post_straight_into_them(receiver, store, waiting):
    endpoint(receiver, "/slack", events=["decision.recorded"], fmt="slack")
    endpoint(receiver, "/teams", events=["decision.recorded"], fmt="teams")
    decide(store, waiting, "<b>bob</b>", "policy")
    deliver_all()
    (slack,) = receiver.bodies("/slack")
    assert set(slack) == {"text"}
    assert slack["text"].startswith("&lt;b&gt;bob&lt;/b&gt; approved (policy)")
    assert slack["text"].endswith("|Open in tommemory>")
    (teams,) = receiver.bodies("/teams")
    assert teams["type"] == "message"
    (attachment,) = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"].startswith("<b>bob</b> approved (policy)")
    assert card["actions"][0]["type"] == "Action.OpenUrl"


# --- retries, the delivery log, isolation ---------------------------------------------------


def test_a_failing_endpoint_is_retried_with_doubling_waits_then_given_up(
    receiver, store, waiting, settings, django_capture_on_commit_callbacks, clock
):
    settings.TOM_WEBHOOK_ATTEMPTS, settings.TOM_WEBHOOK_BACKOFF = 3, 30
    endpoint(receiver, "/fail", events=["decision.recorded"])
    decide(store, waiting, "bob", "policy")
    notifications.dispatch.call()
    (delivery,) = WebhookDelivery.objects.all()
    waits = []
    for _ in range(3):
        before = clock()
        with django_capture_on_commit_callbacks(execute=True):
            notifications.send.call([delivery.pk])
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            waits.append(round((delivery.next_attempt_at - before).total_seconds()))
    assert waits == [30, 60]
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 3
    assert delivery.response_status == 500
    assert delivery.response_body == "try later"
    retries = DBTaskResult.objects.filter(task_path="memory_app.notify.notifications.send")
    assert retries.count() == 2  # the third failure schedules nothing
    assert len(receiver.bodies("/fail")) == 3


def test_a_refused_connection_is_logged_not_raised(store, waiting):
    WebhookEndpoint.objects.create(
        name="down", url="http://127.0.0.1:9/", events=["decision.recorded"]
    )
    decide(store, waiting, "bob", "policy")
    deliver_all()
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.response_status is None
    assert delivery.error


def test_a_slow_endpoint_does_not_delay_another(receiver, store, waiting, settings):
    settings.TOM_WEBHOOK_TIMEOUT = 5
    endpoint(receiver, "/slow", events=["decision.recorded"])
    endpoint(receiver, "/ok", events=["decision.recorded"])
    decide(store, waiting, "bob", "policy")
    started = time.monotonic()
    deliver_all()
    arrived = {r["path"]: r["at"] - started for r in receiver.received}
    assert arrived["/ok"] < 1.0 < 2.0 <= arrived["/slow"]


def test_the_delivery_log_is_shown_in_the_admin(admin_client, receiver, store, waiting):
    endpoint(receiver, events=["decision.recorded"])
    decide(store, waiting, "bob", "policy")
    deliver_all()
    listing = admin_client.get(reverse("admin:memory_app_webhookdelivery_changelist"))
    assert listing.status_code == 200
    assert "decision.recorded" in listing.content.decode()
    (delivery,) = WebhookDelivery.objects.all()
    page = admin_client.get(
        reverse("admin:memory_app_webhookdelivery_change", args=[delivery.pk])
    ).content.decode()
    assert "thanks" in page  # the endpoint's answer
    assert (
        admin_client.post(
            reverse("admin:memory_app_webhookdelivery_delete", args=[delivery.pk]), {"post": "yes"}
        ).status_code
        == 403
    )


def test_only_admins_register_endpoints(client, ops, reviewer):
    for user in (ops, reviewer):
        client.force_login(user)
        response = client.get(reverse("admin:memory_app_webhookendpoint_add"))
        assert response.status_code in (302, 403)


def test_an_endpoint_url_must_be_http(admin_client):
    response = admin_client.post(
        reverse("admin:memory_app_webhookendpoint_add"),
        {"name": "x", "url": "file:///etc/passwd", "secret": "s", "events": ["decision.needed"],
         "format": "json", "active": "on"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Enter a valid URL." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


# --- email digests ----------------------------------------------------------------------


@pytest.fixture
def reachable_ops(ops):
    ops.email = "oscar@example.org"
    ops.save()
    return ops


def test_a_digest_lists_what_waits_for_the_person_with_links(
    settings, store, waiting, reachable_ops
):
    settings.SENDS_EMAIL = True
    assert notifications.digests_now() == 1
    (message,) = mail.outbox
    assert message.to == ["oscar@example.org"]
    assert message.subject == "[tommemory] 1 proposal waits for your decision"
    url = notifications.link(reverse("memory_app:proposal", args=[waiting.pk]))
    assert f"- high risk, needs policy, security: {url}" in message.body


def test_at_most_one_digest_per_person_per_interval(
    settings, store, proposal, reachable_ops, clock
):
    settings.SENDS_EMAIL = True
    validate(store, proposal)
    assert notifications.digests_now() == 1
    second = store.learn_skill("other", "d", source_type="doc", confidence=0.5)
    other = store.draft_proposal(
        second.id, proposed_by="oxide", proposal_type="code_patch", proposal={}, risk_level="low"
    )
    validate(store, other)
    assert notifications.digests_now() == 0  # something new, but within the interval
    later = clock() + settings.TOM_DIGEST_INTERVAL + timedelta(minutes=1)
    assert notifications.digests_now(now=later) == 1
    assert len(mail.outbox) == 2
    # nothing new
    assert notifications.digests_now(now=later + 2 * settings.TOM_DIGEST_INTERVAL) == 0


def test_digests_go_only_to_people_who_can_act(settings, store, waiting, reviewer, outsider):
    settings.SENDS_EMAIL = True
    for person in (reviewer, outsider):
        person.email = f"{person.username}@example.org"
        person.save()
    superuser = User.objects.create_superuser("sam", "sam@example.org", "pw-for-tests-only")
    assert notifications.digests_now() == 1
    assert [m.to for m in mail.outbox] == [[superuser.email]]
    assert Digest.objects.get().user == superuser


def test_no_digest_without_a_mailer(settings, store, waiting, reachable_ops):
    settings.SENDS_EMAIL = False
    assert notifications.digests_now() == 0
    assert mail.outbox == []


def test_a_proposal_s_proposer_is_not_asked_to_approve_it(settings, store, waiting, reachable_ops):
    settings.SENDS_EMAIL = True
    Proposal.objects.filter(pk=waiting.pk).update(proposed_by=reachable_ops.username)
    assert notifications.digests_now() == 0


def test_the_notify_command_picks_up_other_writers_rows_and_sends_due_digests(
    receiver, store, waiting, settings, reachable_ops
):
    settings.SENDS_EMAIL = True
    endpoint(receiver, events=["decision.recorded"])
    another_writer_approves(waiting)
    out = StringIO()
    call_command("notify", stdout=out)
    assert out.getvalue().strip() == "1 webhook delivery queued for the worker, 1 digest sent"
    assert WebhookDelivery.objects.get().event == "decision.recorded"


def test_a_write_checks_the_digests_even_without_any_webhook_endpoint(store, waiting):
    decide(store, waiting, "bob", "policy")  # security still missing: a decision is needed
    notifications.dispatch.call()
    assert DBTaskResult.objects.filter(
        task_path="memory_app.notify.notifications.send_digests"
    ).exists()


def test_tasks_queued_under_the_names_before_the_wings_still_run():
    """A queue filled before notify became a wing holds memory_app.notify.<name>: the worker
    still finds each task there (a retry queued then would otherwise never be sent)."""
    for name in ("dispatch", "send", "send_digests"):
        queued = DBTaskResult(
            task_path=f"memory_app.notify.{name}", queue_name="default", backend_name="default"
        )
        assert queued.task.func is getattr(notifications, name).func
