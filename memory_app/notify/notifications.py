"""Ops hear when they are needed: webhooks and email digests.

Events come from the decision log (``decision_log``): every governed row, whichever process
wrote it, becomes an entry there in order, so walking the entries after the last one an
endpoint heard of finds every decision needed or recorded, status change and published
profile version once. For each entry the governance rule is replayed at the row's time
with and without the row, so an event says what that row changed.

Nothing here runs in a request. The store enqueues ``dispatch`` when a governed write
commits; the worker (``python manage.py db_worker``) runs it, then ``send`` for each event's
deliveries (every endpoint at once, each with its own timeout, so a slow or failing one
delays no other) and retries with exponential backoff. ``python manage.py notify`` (cron)
picks up rows other writers added and sends the digests that are due.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import DatabaseError, connection, transaction
from django.tasks import task
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from memory_app import access, timeutil
from memory_app.errors import StoreError
from memory_app.notify import site_address, webhook_http
from memory_app.notify.models import (
    DeliveryStatus,
    Digest,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookFormat,
)
from memory_app.notify.webhook_http import Outcome
from memory_app.profiles.models import BehaviorProfile, PersonalityProfile
from memory_app.promotion import decision_log, rule
from memory_app.promotion.lineage import proposal_lineage, with_lineage
from memory_app.promotion.models import AuditLeaf, Proposal, ProposalStatus
from memory_app.timeutil import parse_iso
from memory_app.vendor_sql import serialize_on

# Entries one dispatch turns into events; a longer backlog continues in the next task.
BATCH = 500
PROFILE_KINDS = {"behavior_profile": "behavior", "personality_profile": "personality"}
STATUS_EVENTS = {
    ProposalStatus.APPROVED: WebhookEvent.PROPOSAL_APPROVED,
    ProposalStatus.REJECTED: WebhookEvent.PROPOSAL_REJECTED,
    ProposalStatus.PROMOTED: WebhookEvent.PROPOSAL_PROMOTED,
}


@dataclass
class Event:
    name: str
    summary: str  # one line for chat formats and logs
    url: str
    data: dict = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def document(self) -> dict:
        head = {"event": self.name, "id": self.id, "summary": self.summary, "url": self.url}
        return head | self.data


def link(path: str) -> str:
    """An absolute link to a page (``site_address.base_url``)."""
    return site_address.base_url() + path


# --- events from the decision log ---------------------------------------------------------


def events_of(entry: AuditLeaf, lineages: dict) -> list[Event]:
    """What one decision-log entry tells ops (nothing when its row is gone).

    A little over 60 lines: the event's body is built in one place, field by field, as a
    receiver reads it (docs/notifications.md), rather than assembled across helpers."""
    if entry.kind in PROFILE_KINDS:
        return _profile_events(entry)
    model, time_column = decision_log.KINDS[entry.kind]
    row = model.objects.filter(pk=entry.row_id).first()
    if row is None:
        return []
    if row.proposal_id not in lineages:
        try:
            lineages[row.proposal_id] = proposal_lineage(row.proposal_id)
        except StoreError:
            lineages[row.proposal_id] = None
    lineage = lineages[row.proposal_id]
    if lineage is None:
        return []
    # The rule just before and just after the row, at the time it counts at (the lineage's
    # copy of it carries that: ``decision_time``).
    governed = (*lineage.validations, *lineage.approvals, *lineage.deploy_outcomes,
                *lineage.overrides)  # fmt: skip
    counted = next((r for r in governed if r.pk == row.pk and type(r) is type(row)), row)
    when = rule.counted_time(counted, time_column)
    at = parse_iso(when)
    before = rule.evaluate(*_without(lineage.rows, row), at=at)
    after = rule.evaluate(*lineage.rows, at=at)
    proposal = lineage.proposal
    skill = lineage.skill.skill_key if lineage.skill else proposal.skill_id
    url = link(reverse("memory_app:proposal", args=[proposal.pk]))
    about = {
        "proposal": {
            "id": proposal.pk,
            "skill_key": skill,
            "risk_level": proposal.risk_level,
            "proposed_by": proposal.proposed_by,
            "status": after.status,
            "missing": after.missing,
            "bypassed": list(after.bypassed),
        },
        "log_index": entry.index,
        # When the row happened as far as the rule goes (its counted time), and what it
        # claims where that differs: another writer's date is its word, not a fact.
        **_times(getattr(row, time_column), when),
    }
    events = []
    if entry.kind == "approval":
        decision = {"type": row.approval_type, "decision": row.decision, "by": row.approver}
        summary = f"{row.approver} {row.decision} ({row.approval_type}) {skill}"
        events.append(_event(WebhookEvent.DECISION_RECORDED, summary, url, about, decision))
    elif entry.kind == "override":
        decision = {"type": "break-glass", "decision": "bypassed", "by": row.actor}
        summary = f"{row.actor} bypassed the rule (break-glass) for {skill}: {row.reason}"
        events.append(_event(WebhookEvent.DECISION_RECORDED, summary, url, about, decision))
    changed = after.status != before.status
    if changed and after.status in STATUS_EVENTS and before.status != ProposalStatus.PROMOTED:
        summary = f"{proposal.risk_level} risk proposal for {skill} is {after.status}"
        events.append(Event(STATUS_EVENTS[after.status], summary, url, about))
    waits = after.status == ProposalStatus.VALIDATED and after.missing
    if waits and (changed or before.missing != after.missing):
        summary = (
            f"Decision needed: {proposal.risk_level} risk proposal for {skill} waits for "
            f"{', '.join(after.missing)}"
        )
        events.append(Event(WebhookEvent.DECISION_NEEDED, summary, url, about))
    return events


def _times(claimed: object, counted: str) -> dict:
    """``occurred_at`` (the counted time), and ``claimed_at`` (as stored) only where the
    row claims another instant (a date ahead, behind the log's record, or unreadable)."""
    if not counted:  # nothing the log could bound it by (no entry): as it is stored
        return {"occurred_at": claimed}
    if timeutil.instant_key(claimed) == counted:
        return {"occurred_at": counted}
    return {"occurred_at": counted, "claimed_at": claimed}


def _event(name: str, summary: str, url: str, about: dict, decision: dict) -> Event:
    return Event(name, summary, url, about | {"decision": decision})


def _without(rows: tuple, row) -> tuple:
    """The lineage's rows without ``row`` (the rule as it stood just before it)."""
    proposal, validations, approvals, deploys, evidence, overrides = rows

    def drop(items):
        return [item for item in items if item.pk != row.pk or type(item) is not type(row)]

    return proposal, drop(validations), drop(approvals), drop(deploys), evidence, drop(overrides)


def _profile_events(entry: AuditLeaf) -> list[Event]:
    kind = PROFILE_KINDS[entry.kind]
    model = BehaviorProfile if kind == "behavior" else PersonalityProfile
    version = model.objects.filter(pk=entry.row_id).first()
    if version is None:
        return []
    url = link(reverse("memory_app:profile", args=[kind, version.profile_name]))
    url += f"#v{version.version}"
    summary = (
        f"{kind} profile {version.profile_name} v{version.version} published by "
        f"{version.created_by}"
    )
    data = {
        "profile": {
            "kind": kind,
            "name": version.profile_name,
            "version": version.version,
            "created_by": version.created_by,
            "rationale": version.rationale,
            "effective_from": version.effective_from,
        },
        "log_index": entry.index,
        "occurred_at": version.created_at,
    }
    return [Event(WebhookEvent.PROFILE_PUBLISHED, summary, url, data)]


# --- bodies and signatures ----------------------------------------------------------------


def body_for(fmt: str, event: Event) -> str:
    """The JSON body an endpoint of a format receives."""
    if fmt == WebhookFormat.SLACK:
        escaped = event.summary.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        document = {"text": f"{escaped} <{event.url}|Open in tommemory>"}
    elif fmt == WebhookFormat.TEAMS:
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [{"type": "TextBlock", "text": event.summary, "wrap": True}],
            "actions": [{"type": "Action.OpenUrl", "title": "Open in tommemory", "url": event.url}],
        }
        document = {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }
    else:
        document = event.document()
    return json.dumps(document, ensure_ascii=False, default=str)


def signature(secret: str, timestamp: str, body: str) -> str:
    """``sha256=<hex>``: HMAC-SHA256 over ``<timestamp>.<body>``, so a captured delivery
    cannot be replayed with another time (receivers refuse old timestamps)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# --- dispatch and delivery (the worker) ------------------------------------------------


def dispatch_soon() -> None:
    """After a governed write commits: let the worker turn new log entries into events.

    A runtime file the dashboard has not adopted yet (a store's ``bootstrap``) has no task
    queue: nothing is lost, since events come from the decision log, which the worker reads
    from its last entry once the dashboard runs on the file."""
    try:
        dispatch.enqueue()
    except DatabaseError:
        if DBTaskResult._meta.db_table in connection.introspection.table_names():
            raise


@task()
def dispatch() -> int:
    return dispatch_now()


def dispatch_now() -> int:
    """Make the deliveries for the log entries each active endpoint has not heard of;
    enqueue their sending. Returns how many deliveries were made."""
    needed = False
    with transaction.atomic():
        decision_log.take_in()  # rows other writers added since the last governed write
        # One dispatcher at a time: an entry becomes each endpoint's delivery once.
        serialize_on(WebhookEndpoint._meta.db_table)
        endpoints = list(WebhookEndpoint.objects.select_for_update().filter(active=True))
        start = min((e.log_index for e in endpoints), default=None)
        if start is None:
            entries = []
        else:
            entries = list(AuditLeaf.objects.filter(index__gt=start).order_by("index")[:BATCH])
        lineages: dict = {}
        batches: list[list[WebhookDelivery]] = []
        for entry in entries:
            for event in events_of(entry, lineages):
                needed |= event.name == WebhookEvent.DECISION_NEEDED
                batch = [
                    WebhookDelivery(
                        endpoint=endpoint,
                        event=event.name,
                        event_id=event.id,
                        body=body_for(endpoint.format, event),
                    )
                    for endpoint in endpoints
                    if entry.index > endpoint.log_index and event.name in endpoint.events
                ]
                if batch:
                    batches.append(WebhookDelivery.objects.bulk_create(batch))
        if entries:
            WebhookEndpoint.objects.filter(
                pk__in=[e.pk for e in endpoints], log_index__lt=entries[-1].index
            ).update(log_index=entries[-1].index)
        for batch in batches:
            ids = [d.pk for d in batch]
            transaction.on_commit(lambda ids=ids: send.enqueue(ids))
        if len(entries) == BATCH:
            transaction.on_commit(dispatch_soon)
    # Without an endpoint no entry is read for events, so whether a decision became needed
    # is unknown: the digests check (each person's interval keeps that cheap for them).
    if needed or not endpoints:
        send_digests.enqueue()
    return sum(len(b) for b in batches)


def post(url: str, body: str, headers: dict[str, str]) -> Outcome:
    """One attempt: within ``TOM_WEBHOOK_TIMEOUT`` in total, no redirect followed, http(s)
    URLs only (``webhook_http``)."""
    return webhook_http.post(url, body.encode(), headers, settings.TOM_WEBHOOK_TIMEOUT)


@task()
def send(delivery_ids: list[int]) -> int:
    """Post deliveries (every endpoint at once), record each answer, schedule retries."""
    deliveries = list(
        WebhookDelivery.objects.select_related("endpoint")
        .filter(pk__in=delivery_ids)
        .exclude(status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED])
    )
    if not deliveries:
        return 0
    timestamp = str(int(timeutil.now().timestamp()))

    def attempt(delivery: WebhookDelivery) -> Outcome:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "tommemory-webhooks",
            "X-Tom-Event": delivery.event,
            "X-Tom-Delivery": str(delivery.pk),
            "X-Tom-Timestamp": timestamp,
            "X-Tom-Signature": signature(delivery.endpoint.secret, timestamp, delivery.body),
        }
        return post(delivery.endpoint.url, delivery.body, headers)

    with ThreadPoolExecutor(max_workers=min(8, len(deliveries))) as pool:
        outcomes = list(pool.map(attempt, deliveries))
    for delivery, outcome in zip(deliveries, outcomes, strict=True):
        _record(delivery, outcome)
    return sum(o.ok for o in outcomes)


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt after ``attempts`` failed ones: doubling."""
    return timedelta(seconds=settings.TOM_WEBHOOK_BACKOFF * 2 ** (attempts - 1))


def _record(delivery: WebhookDelivery, outcome: Outcome) -> None:
    delivery.attempts += 1
    delivery.response_status = outcome.status
    delivery.response_body = outcome.body
    delivery.error = outcome.error
    delivery.duration_ms = outcome.duration_ms
    now = timeutil.now()
    if outcome.ok:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.TOM_WEBHOOK_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        retry = send.using(run_after=delivery.next_attempt_at)
        transaction.on_commit(lambda pk=delivery.pk: retry.enqueue([pk]))
    delivery.save()


# --- email digests ------------------------------------------------------------------


@task()
def send_digests() -> int:
    return digests_now()


def digests_now(now: datetime | None = None) -> int:
    """Email each person who can decide the proposals waiting for a type they can give,
    at most once per ``TOM_DIGEST_INTERVAL``, and only when something waits that their last
    digest did not list. Returns how many were sent."""
    if not settings.SENDS_EMAIL:
        return 0
    now = now or timeutil.now()
    waiting = [
        (p, v)
        for p in with_lineage(Proposal.objects.filter(status__in=rule.OPEN_STATUSES))
        if (v := rule.verdict_for(p)).status == ProposalStatus.VALIDATED and v.missing
    ]
    sent = 0
    for person in access.deciders().exclude(email=""):
        name = person.get_username()
        theirs = [
            (p, types)
            for p, v in waiting
            if (types := v.types_open_to(name)) and not rule.own_proposal_refusal(p, name)
        ]
        last = Digest.objects.filter(user=person).order_by("-sent_at").first()
        if not theirs or (last and now - last.sent_at < settings.TOM_DIGEST_INTERVAL):
            continue
        if last and {p.pk for p, _ in theirs} <= set(last.proposals):
            continue  # nothing new since the last digest
        send_mail(
            "[tommemory] 1 proposal waits for your decision"
            if len(theirs) == 1
            else f"[tommemory] {len(theirs)} proposals wait for your decision",
            _digest_text(name, theirs),
            None,
            [person.email],
        )
        Digest.objects.create(user=person, sent_at=now, proposals=[p.pk for p, _ in theirs])
        sent += 1
    return sent


def _digest_text(name: str, theirs: Iterable) -> str:
    lines = [f"Hello {name},", "", "These proposals wait for a decision you can give:", ""]
    for proposal, types in theirs:
        url = link(reverse("memory_app:proposal", args=[proposal.pk]))
        lines.append(f"- {proposal.risk_level} risk, needs {', '.join(types)}: {url}")
    lines += ["", "You get at most one such email per interval; the queue has them all:"]
    lines.append(link(reverse("memory_app:proposals")))
    return "\n".join(lines) + "\n"
