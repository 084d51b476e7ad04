"""The activity page's filter form (it reads across the wings)."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from memory_app.base_models import Level
from memory_app.forms import (
    CursorField,
    ListFilterForm,
)
from memory_app.runtime.models import (
    TaskEvent,
)


class ActivityFilterForm(ListFilterForm):
    KINDS = [
        ("events", "Task events"),
        ("approvals", "Approvals"),
        ("deploys", "Deploy outcomes"),
        ("profiles", "Profile versions"),
    ]

    kind = forms.MultipleChoiceField(
        choices=KINDS, required=False, widget=forms.CheckboxSelectMultiple
    )
    level = forms.MultipleChoiceField(
        choices=Level.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    after = CursorField(length=3)

    def count_levels(self) -> None:
        """Label each level with its number of task events (one GROUP BY on the level index)."""
        counted = dict(
            TaskEvent.objects.order_by().values_list("event_level").annotate(n=models.Count("*"))
        )
        self.fields["level"].choices = [
            (value, f"{label} ({counted.get(value, 0)})") for value, label in Level.choices
        ]

    def clean_after(self):
        cursor = self.cleaned_data["after"]
        if cursor is not None and not all(isinstance(v, str) for v in cursor):
            raise ValidationError("This page link is damaged; showing the first page.")
        return cursor
