"""The annotation form, and the session list's filter by score.

The annotation form is built from the score configs offered (not archived): one field per
config, each with its description as help text. The author is the signed-in user, never a
field. A score's value is checked by its config (``ScoreConfig.stored_value``, the store's
own check), so a refusal is said beside its field, in the store's words.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from memory_app.errors import InvalidInput
from memory_app.review import queries
from memory_app.review.models import Annotation, ScoreConfig, ScoreDataType, TargetKind
from memory_app.runtime.forms import SessionFilterForm

# Up to this many categories are radio buttons; more are a select.
RADIO_CATEGORIES = 5
NO_SCORE = ("", "no score")
TEXT_LIMIT = 20_000


def _score_field(config: ScoreConfig) -> forms.Field:
    """A field for one config: radios or a select of its categories, yes/no, or a number
    input carrying the config's range."""
    kwargs = {"label": config.name, "required": False, "help_text": config.description}
    if config.data_type == ScoreDataType.NUMERIC:
        attrs = {"step": "any"}
        attrs |= {} if config.min_value is None else {"min": f"{config.min_value:g}"}
        attrs |= {} if config.max_value is None else {"max": f"{config.max_value:g}"}
        # The range is the config's check (``clean_score``), said in its words.
        return forms.FloatField(widget=forms.NumberInput(attrs=attrs), **kwargs)
    if config.data_type == ScoreDataType.BOOLEAN:
        choices = [NO_SCORE, ("true", "yes"), ("false", "no")]
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **kwargs)
    categories = config.categories
    widget = forms.RadioSelect if len(categories) <= RADIO_CATEGORIES else forms.Select
    return forms.ChoiceField(
        choices=[NO_SCORE, *[(c, c) for c in categories]], widget=widget, **kwargs
    )


class AnnotationForm(forms.Form):
    """One annotation of a target: a score per config offered, a comment, and for a turn a
    correction; ``supersedes`` is the annotation of yours this form edits (the store
    refuses another's, or one already edited)."""

    comment = forms.CharField(
        required=False, max_length=TEXT_LIMIT, widget=forms.Textarea(attrs={"rows": 3})
    )
    correction = forms.CharField(
        label="Correction: the answer it should have given",
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    supersedes = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(
        self,
        *args,
        configs: list[ScoreConfig],
        target_kind: str,
        editing: Annotation | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.configs = {f"score_{n}": config for n, config in enumerate(configs)}
        for name, config in self.configs.items():
            self.fields[name] = _score_field(config)
        if target_kind != TargetKind.TURN:
            del self.fields["correction"]
        self.editing = editing
        if editing is not None and not self.is_bound:
            self._prefill(editing)

    def _prefill(self, annotation: Annotation) -> None:
        given = {score.score_config_id: score.value for score in annotation.scores.all()}
        self.initial |= {"comment": annotation.comment, "supersedes": annotation.pk}
        if "correction" in self.fields:
            self.initial["correction"] = annotation.correction or ""
        for name, config in self.configs.items():
            value = given.get(config.pk)
            if isinstance(value, bool):
                value = "true" if value else "false"
            if value is not None:
                self.initial[name] = value

    def score_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.configs]

    def clean(self):
        data = super().clean()
        scores = {}
        for name, config in self.configs.items():
            value = data.get(name)
            if value in (None, ""):
                continue
            if config.data_type == ScoreDataType.BOOLEAN:
                value = value == "true"
            try:
                config.stored_value(value)
            except InvalidInput as exc:
                self.add_error(name, ValidationError(str(exc)))
                continue
            scores[config.name] = value
        data["scores"] = scores
        return data


class ScoredSessionFilterForm(SessionFilterForm):
    """The session list's filters and facets, and a score given in a current annotation on
    the session or one of its turns (``?score=<config name>:<value>``), a facet with counts
    like the others: of the sessions the other filters leave, how many have it."""

    score = forms.ChoiceField(label="Score", required=False, choices=[("", "any")])
    field_order = [*SessionFilterForm.field_order, "score"]
    NARROWING = (*SessionFilterForm.NARROWING, "score")

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self._given: dict[str, tuple[queries.Given, int]] = {}
        if self.rows is not None:
            self._given = queries.score_counts(self.rows)
            self.fields["score"].choices = [("", "any"), *[(k, k) for k in self._given]]

    def filter(self, qs: models.QuerySet, without: str | None = None) -> models.QuerySet:
        chosen = self.chosen(without)
        qs = super().filter(qs, without)
        if "score" in chosen:
            qs = queries.scored(qs, self._given[chosen["score"]][0])
        return qs

    def facet_fields(self) -> list[forms.BoundField]:
        return [*super().facet_fields(), self["score"]]

    def count_facets(self) -> None:
        super().count_facets()
        counts = {key: n for key, (_, n) in self._given.items()}
        if self.rows is not None and self.chosen(without="score").keys() - self.NOT_FILTERING:
            narrowed = queries.score_counts(self.filter(self.rows, without="score"))
            counts = {key: n for key, (_, n) in narrowed.items()}
        self.fields["score"].choices = [("", "any")] + [
            (key, f"{key} ({counts.get(key, 0)})") for key in self._given
        ]
