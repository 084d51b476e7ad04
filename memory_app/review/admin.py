"""The review wing's admin: score configs, managed by review admins; annotations and their
scores read-only (append-only: an edit is a new annotation, made where one reads)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from memory_app import access
from memory_app.admin_parts import AppendOnlyAdmin, ReadOnlyInline, link_to
from memory_app.errors import StoreError
from memory_app.review import writes
from memory_app.review.models import Annotation, AnnotationScore, ScoreConfig, ScoreDataType
from memory_app.store import RuntimeMemoryStore
from memory_app.timeutil import now_iso


class ScoreConfigForm(forms.ModelForm):
    """A config's definition as the store checks it; once a score uses the config, its
    kind, categories and range stay as they are (the scores were given against them)."""

    categories = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Categorical only: one category per line.",
    )
    archived = forms.BooleanField(
        required=False, help_text="An archived config is not offered for new scores."
    )

    class Meta:
        model = ScoreConfig
        fields = ["name", "data_type", "min_value", "max_value", "description"]
        help_texts = {
            "min_value": "Numeric only; empty: no lower bound.",
            "max_value": "Numeric only; empty: no upper bound.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = self.instance
        if not config._state.adding:
            self.initial["categories"] = "\n".join(config.categories)
            self.initial["archived"] = config.archived_at is not None

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        lines = [c.strip() for c in data.get("categories", "").splitlines() if c.strip()]
        categorical = data["data_type"] == ScoreDataType.CATEGORICAL
        try:
            data["name"] = writes.config_name(data["name"])
            data["category_list"] = lines if categorical or lines else None
            data["definition"] = writes.definition(
                data["data_type"], data["category_list"],
                data.get("min_value"), data.get("max_value"),
            )  # fmt: skip
        except StoreError as exc:
            raise ValidationError(str(exc)) from None
        config = self.instance
        if not config._state.adding and config.is_used():
            fixed = [k for k, v in data["definition"].items() if getattr(config, k) != v]
            if fixed:
                raise ValidationError(
                    f"{config.name} has scores: its kind, categories and range are fixed "
                    f"(not {', '.join(fixed)}); archive it and make a new config instead"
                )
        return data


@admin.register(ScoreConfig)
class ScoreConfigAdmin(admin.ModelAdmin):
    """Review admins (and superusers) add and edit score configs; none is deleted (its
    scores stay): an archived one is no longer offered."""

    form = ScoreConfigForm
    list_display = ["name", "data_type", "description", "created_by", "created_at", "archived_at"]
    list_filter = ["data_type"]
    search_fields = ["name", "description"]
    fields = ["name", "data_type", "categories", "min_value", "max_value", "description"]
    readonly_fields = ["created_by", "created_at", "archived_at"]
    actions = None

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.fields
        return [*self.fields, "archived", *self.readonly_fields]

    def has_module_permission(self, request):
        return access.can_manage_reviews(request.user)

    def has_view_permission(self, request, obj=None):
        return access.can_manage_reviews(request.user)

    def has_add_permission(self, request):
        return access.can_manage_reviews(request.user)

    def has_change_permission(self, request, obj=None):
        return access.can_manage_reviews(request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        definition = data["definition"]
        if not change:  # a new config is made by the store, as a runtime makes one
            made = RuntimeMemoryStore().create_score_config(
                data["name"],
                definition["data_type"],
                created_by=request.user.get_username(),
                categories=data["category_list"],
                min_value=definition["min_value"],
                max_value=definition["max_value"],
                description=data["description"],
            )
            for field in ScoreConfig._meta.concrete_fields:
                setattr(obj, field.attname, getattr(made, field.attname))
            obj._state.adding = False
            return
        for column, value in definition.items():
            setattr(obj, column, value)
        if data["archived"] != (obj.archived_at is not None):
            obj.archived_at = now_iso() if data["archived"] else None
        obj.save()


class ScoreInline(ReadOnlyInline):
    model = AnnotationScore
    fields = ["score_config", "value_text", "value_number"]
    readonly_fields = fields


@admin.register(Annotation)
class AnnotationAdmin(AppendOnlyAdmin):
    list_display = ["id", "target_kind", "target_id", "author", "created_at", "supersedes_link"]
    list_filter = ["target_kind"]
    search_fields = ["author", "target_id", "comment"]
    fields = [
        "target_kind",
        "target_id",
        "author",
        "comment",
        "correction",
        "queue_item_id",
        "supersedes_link",
        "created_at",
    ]
    readonly_fields = ["supersedes_link"]
    inlines = [ScoreInline]

    @admin.display(description="supersedes")
    def supersedes_link(self, annotation):
        return link_to(annotation, "supersedes")


@admin.register(AnnotationScore)
class AnnotationScoreAdmin(AppendOnlyAdmin):
    list_display = ["id", "annotation_id", "score_config", "value_text", "value_number"]
    list_select_related = ["score_config"]
    fields = ["annotation_link", "score_config", "value_text", "value_number"]
    readonly_fields = ["annotation_link"]

    @admin.display(description="annotation")
    def annotation_link(self, score):
        return link_to(score, "annotation")
