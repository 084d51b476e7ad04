"""The notify wing's tables (ours, beside v1): webhook endpoints, their deliveries, email
digests, change tokens, and the address the site was last signed in at."""

from __future__ import annotations

import secrets

from django.core.validators import URLValidator
from django.db import models

from memory_app.notify import webhook_http
from memory_app.promotion.models import AuditLeaf

# --- webhooks and email digests (sent by memory_app.notify.notifications) -----------


class WebhookEvent(models.TextChoices):
    DECISION_NEEDED = "decision.needed", "a decision is needed (with the missing types)"
    DECISION_RECORDED = "decision.recorded", "a decision was recorded (break-glass too)"
    PROPOSAL_APPROVED = "proposal.approved", "a proposal was approved"
    PROPOSAL_REJECTED = "proposal.rejected", "a proposal was rejected"
    PROPOSAL_PROMOTED = "proposal.promoted", "a proposal was promoted"
    PROFILE_PUBLISHED = "profile.published", "a profile version was published"


class WebhookFormat(models.TextChoices):
    JSON = "json", "JSON, signed (X-Tom-Signature)"
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams workflow (Adaptive Card)"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """Where an admin wants events posted; it hears of what is logged after it is added."""

    name = models.CharField(max_length=100)
    url = models.URLField(
        max_length=2000,
        validators=[URLValidator(schemes=list(webhook_http.SCHEMES))],
        help_text="http:// or https://",
    )
    secret = models.CharField(
        max_length=200,
        default=new_webhook_secret,
        help_text="signs each delivery: HMAC-SHA256 of '<timestamp>.<body>' (README)",
    )
    events = models.JSONField(default=list, help_text="the events this endpoint receives")
    format = models.CharField(max_length=10, choices=WebhookFormat, default=WebhookFormat.JSON)
    active = models.BooleanField(default=True)
    # The last decision-log entry this endpoint was told about (set when it is added).
    log_index = models.BigIntegerField(default=-1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tommemory_webhook_endpoints"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Whoever saves it (the admin's form, a script): only an http(s) URL is kept, so a
        # signed delivery never goes to file: or another scheme. ``send`` checks again.
        self._meta.get_field("url").run_validators(self.url)
        if self._state.adding:  # history is not news: it hears of what is logged from now
            last = AuditLeaf.objects.aggregate(last=models.Max("index"))["last"]
            self.log_index = -1 if last is None else last
        super().save(*args, **kwargs)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"  # every attempt failed


class WebhookDelivery(models.Model):
    """One event posted (or to be posted) to one endpoint, with what the endpoint answered."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.DB_CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent)
    event_id = models.CharField(max_length=40, help_text="the same for every endpoint")
    body = models.TextField(help_text="the exact body posted")
    status = models.CharField(max_length=10, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.IntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)

    class Meta:
        db_table = "tommemory_webhook_deliveries"
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["endpoint", "-created_at"], name="idx_deliveries_endpoint")]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id}: {self.status}"


class Digest(models.Model):
    """An email digest sent to one person: at most one per interval (``TOM_DIGEST_INTERVAL``)."""

    user = models.ForeignKey(
        "auth.User", on_delete=models.DB_CASCADE, related_name="tommemory_digests"
    )
    sent_at = models.DateTimeField()
    proposals = models.JSONField(default=list)

    class Meta:
        db_table = "tommemory_digests"
        indexes = [models.Index(fields=["user", "-sent_at"], name="idx_digests_user")]

    def __str__(self) -> str:
        return f"digest to {self.user_id} at {self.sent_at:%Y-%m-%d %H:%M}"


class SiteAddressQuerySet(models.QuerySet):
    def last_seen(self) -> str | None:
        """The address (``https://host[:port]``) a person last signed in at, if any."""
        return self.filter(pk=1).values_list("base_url", flat=True).first()

    def record(self, base_url: str, at: str) -> None:
        self.update_or_create(pk=1, defaults={"base_url": base_url, "recorded_at": at})


class SiteAddress(models.Model):
    """Where the site was last served from, one row: the links in webhooks, Slack messages
    and digests point there when ``TOM_BASE_URL`` is not set. The worker that sends them
    runs apart from any request, so it reads the address the last sign-in came through
    (``memory_app.notify.site_address``)."""

    base_url = models.TextField()
    recorded_at = models.TextField()

    objects = SiteAddressQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_site_address"
        verbose_name_plural = "site address"

    def __str__(self) -> str:
        return self.base_url
