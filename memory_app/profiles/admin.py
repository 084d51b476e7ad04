"""The profiles wing's admin: versions added only by publishing."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from memory_app import access
from memory_app.admin_parts import (
    V1Admin,
)
from memory_app.forms import IsoDateTimeField
from memory_app.profiles.models import BehaviorProfile, PersonalityProfile
from memory_app.store import RuntimeMemoryStore, StoreError


class PublishVersionForm(forms.ModelForm):
    """Saving publishes version N+1; the shown version is never overwritten."""

    profile_name = forms.CharField(max_length=200)
    document = forms.CharField(label="JSON", widget=forms.Textarea(attrs={"rows": 16}))
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    effective_from = IsoDateTimeField(label="Effective from (empty: now)")
    source_ref = forms.CharField(required=False)

    class Meta:
        fields: list[str] = []

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                RuntimeMemoryStore().check_publish(
                    self._meta.model,
                    data["profile_name"],
                    data["document"],
                    created_by="admin",
                    rationale=data["rationale"],
                    effective_from=data.get("effective_from"),
                )
            except StoreError as exc:
                raise ValidationError(str(exc)) from None
        return data


class ProfileAdmin(V1Admin):
    """A published version opens read-only; new versions are published, never edited in.

    The "publish a new version" link of a version starts from the profile's newest one
    (the dashboard's publish page, which previews the diff); "add" publishes through the
    store as well.
    """

    list_display = ["profile_name", "version", "effective_from", "effective_to", "created_by"]
    list_filter = ["profile_name"]
    search_fields = ["profile_name", "rationale"]
    ordering = ["profile_name", "-version"]
    form = PublishVersionForm
    actions = None
    fields = ["profile_name", "document", "rationale", "effective_from", "source_ref"]

    def has_add_permission(self, request):
        return access.can_publish(request.user, self.model)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is not None:
            columns = [f.name for f in self.model._meta.concrete_fields]
            return ["publish_next", *self._as_stored(columns)]
        return self.fields

    @admin.display(description="new version")
    def publish_next(self, profile):
        kind = "behavior" if isinstance(profile, BehaviorProfile) else "personality"
        url = reverse("memory_app:publish_profile", args=[kind, profile.profile_name])
        return format_html(
            '<a href="{}">Publish a new version of {}</a>', url, profile.profile_name
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        published = RuntimeMemoryStore().publish_version(
            self.model,
            data["profile_name"],
            data["document"],
            created_by=request.user.get_username(),
            rationale=data["rationale"],
            source_ref=data["source_ref"] or None,
            effective_from=data["effective_from"],
        )
        # The admin goes on with the published version (its messages and redirect).
        for field in self.model._meta.concrete_fields:
            setattr(obj, field.attname, getattr(published, field.attname))
        obj._state.adding = False

    def view_on_site(self, profile):
        kind = "behavior" if isinstance(profile, BehaviorProfile) else "personality"
        return reverse("memory_app:profile", args=[kind, profile.profile_name])


admin.site.register(BehaviorProfile, ProfileAdmin)
admin.site.register(PersonalityProfile, ProfileAdmin)


# --- notifications ------------------------------------------------------------------------
