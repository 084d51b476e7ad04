"""The activity page's filter form (it reads across the wings)."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import format_html

from memory_app.base_models import Level
from memory_app.forms import (
    CursorField,
    ListFilterForm,
)
from memory_app.overview.activity import DEFAULT_EVENT_LEVELS, KINDS
from memory_app.runtime.models import (
    TaskEvent,
)


class ActivityFilterForm(ListFilterForm):
    KINDS = [
        ("events", "Task events"),
        ("approvals", "Approvals"),
        ("deploys", "Deploy outcomes"),
        ("profiles", "Profile versions"),
        ("annotations", "Annotations"),
    ]

    kind = forms.MultipleChoiceField(
        choices=KINDS, required=False, widget=forms.CheckboxSelectMultiple
    )
    level = forms.MultipleChoiceField(
        choices=Level.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    after = CursorField(length=3)

    def __init__(self, data=None, **kwargs):
        # With no kind and no level chosen the timeline shows its default (``activity``):
        # the form shows that default as chosen, so what is in effect is what is checked.
        if data is not None and not data.getlist("kind") and not data.getlist("level"):
            data = data.copy()
            data.setlist("kind", list(KINDS))
            data.setlist("level", DEFAULT_EVENT_LEVELS)
        super().__init__(data, **kwargs)
        self.level_counts: list[tuple[str, int]] = []

    def count_levels(self) -> None:
        """Label each level with its number of task events (one GROUP BY on the level index),
        the number in an element of its own that a page filtered in place swaps in again."""
        counted = dict(
            TaskEvent.objects.order_by().values_list("event_level").annotate(n=models.Count("*"))
        )
        self.level_counts = [(value, counted.get(value, 0)) for value in Level.values]
        self.fields["level"].choices = [
            (value, format_html('{} <span id="level-count-{}">({})</span>', label, value, n))
            for (value, label), (_, n) in zip(Level.choices, self.level_counts, strict=True)
        ]

    def clean_after(self):
        cursor = self.cleaned_data["after"]
        if cursor is not None and not all(isinstance(v, str) for v in cursor):
            raise ValidationError("This page link is damaged; showing the first page.")
        return cursor
