"""The ingest wing's admin: ingest tokens, issued and revoked by admins.

The model's own permissions decide who may (superusers by default; no role group holds
them). A token's secret is shown on the page that answers its creation, once: only its
SHA-256 is kept, so no later page can show it. Nothing of a token is edited or deleted
here; revoking keeps the row, so what it sent stays attributable.
"""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from memory_app.ingest.models import IngestToken

SHOWN_ONCE = (
    "Saving issues the token and shows it on the next page, once: tommemory keeps only its "
    "SHA-256 and cannot show it again. Name the source that will send with it."
)
DETAILS = ["name", "source", "hint", "created_by", "created_at", "revoked_at", "revoked_by"]


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "active"), ("revoked", "revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(IngestToken)
class IngestTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name", "source", "shown_hint", "created_by", "created_at", "revoked_at", "revoked_by",
    ]  # fmt: skip
    list_filter = [StateFilter]
    search_fields = ["name", "source", "hint"]
    actions = ["revoke"]
    # A name and a source are short: one line each, not the text columns' boxes.
    formfield_overrides = {models.TextField: {"widget": forms.TextInput(attrs={"size": 60})}}

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # issuing: a name and a source, nothing else is the admin's
            return [(None, {"fields": ["name", "source"], "description": SHOWN_ONCE})]
        return [(None, {"fields": DETAILS})]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else DETAILS

    def has_change_permission(self, request, obj=None):
        # A token is never edited (its page is read-only); the model's change permission
        # is what revoking asks for, on the list.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="token", ordering="hint")
    def shown_hint(self, token: IngestToken) -> str:
        return format_html("<code>{}…</code>", token.hint)

    def save_model(self, request, obj, form, change):
        """Issue the token (its hash and hint made by the model, never the form); the
        secret rides on the object to ``response_add``, the one page that shows it."""
        issued, secret = IngestToken.objects.issue(
            form.cleaned_data["name"],
            source=form.cleaned_data["source"],
            created_by=request.user.get_username(),
        )
        for field in IngestToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(issued, field.attname))
        obj._state.adding, obj._state.db = False, issued._state.db
        obj.issued_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        endpoint = request.build_absolute_uri(reverse("memory_app:otlp_traces"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Ingest token issued: {obj.name}",
            "token": obj,
            "secret": obj.issued_secret,
            "endpoint": endpoint,
        }
        # Not cached: the admin's views are never_cache (no-store).
        return TemplateResponse(request, "memory_app/ingest/token_issued.html", context)

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token.revoke(by=request.user.get_username())
            revoked += 1
        self.message_user(
            request,
            f"Revoked {revoked} token{'s' if revoked != 1 else ''}: "
            "from now on they are answered 401.",
            messages.SUCCESS,
        )
