"""The notify wing's admin: webhook endpoints, their deliveries, digests."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import escape, format_html

from memory_app.notify.models import Digest, WebhookDelivery, WebhookEndpoint, WebhookEvent


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "format", "events", "secret", "active"]
        # The admin shows help text as markup: the secret's "<timestamp>.<body>" would be
        # taken for two tags and vanish.
        help_texts = {"secret": escape(WebhookEndpoint._meta.get_field("secret").help_text)}


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Admins register endpoints (model permissions: no role group holds them)."""

    form = WebhookEndpointForm
    list_display = ["name", "url", "format", "active", "created_at", "deliveries_link"]

    def get_readonly_fields(self, request, obj=None):
        # ``log_index`` is the worker's place in the decision log, nothing to show; when
        # the endpoint was made is worth showing once it has been.
        return ["created_at"] if obj is not None else []

    @admin.display(description="delivery log")
    def deliveries_link(self, endpoint):
        url = reverse("admin:memory_app_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">deliveries</a>', url, endpoint.pk)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: what was posted where, and what each endpoint answered."""

    list_display = [
        "created_at", "endpoint", "event", "status", "attempts", "response_status",
        "duration_ms", "next_attempt_at",
    ]  # fmt: skip
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "user"]
    readonly_fields = ["user", "sent_at", "proposals"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
