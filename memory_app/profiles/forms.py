"""The profiles wing's forms: publishing a new version, withdrawing a scheduled one."""

from django import forms
from django.core.exceptions import ValidationError

from memory_app.forms import (
    IsoDateTimeField,
)
from memory_app.jsontext import parse_json_text


class PublishForm(forms.Form):
    """A new profile version: the document, why, and from when."""

    document = forms.CharField(
        label="JSON", widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"})
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        error_messages={"required": "Say why this version is published."},
    )
    effective_from = IsoDateTimeField(
        label="Effective from (empty: now; may be in the future)",
    )
    source_ref = forms.CharField(required=False, max_length=500, label="Source reference")

    def clean_document(self):
        parsed = parse_json_text(self.cleaned_data["document"])
        if not parsed.valid:
            raise ValidationError(f"The document cannot be published: {parsed.problem}.")
        if not isinstance(parsed.value, dict):
            raise ValidationError("The document must be a JSON object ({...}).")
        return parsed.value


class WithdrawForm(forms.Form):
    """Why a scheduled version is withdrawn before it starts (kept with who and when)."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
        error_messages={"required": "Say why this version is withdrawn."},
    )
