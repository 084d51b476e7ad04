"""Django admin for the twelve v1 tables.

The audit trail (validations, approvals, deploy outcomes, task events) is read-only here;
profile versions change only by publishing a new version through RuntimeMemoryStore.
List pages stay fast on a million turns: no full count, raw-id widgets for foreign keys.
"""

from datetime import timedelta
from functools import cached_property
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from memory_app import access
from memory_app.fields import IntegerColumn, JSONTextField, RealColumn, TextColumn, TimestampField
from memory_app.forms import IsoDateTimeField
from memory_app.notify.models import Digest, WebhookDelivery, WebhookEndpoint, WebhookEvent
from memory_app.profiles.models import BehaviorProfile, PersonalityProfile
from memory_app.promotion import rule
from memory_app.promotion.models import (
    Approval,
    DeployOutcome,
    Override,
    Proposal,
    Skill,
    ValidationResult,
)
from memory_app.runtime.models import Session, TaskEvent, Turn, WorkflowRun, WorkflowStep
from memory_app.store import RuntimeMemoryStore, StoreError
from memory_app.templatetags.memory import ts
from memory_app.timeutil import format_iso, now_iso, parse_iso

INLINE_ROWS = 50


class EstimatedCountPaginator(Paginator):
    """Counts filtered lists; estimates an unfiltered one without reading the whole table.

    SQLite: the largest rowid (exact while rows are only appended). PostgreSQL: the
    planner's row estimate, which ANALYZE keeps; below ``EXACT_BELOW`` rows (or before the
    first ANALYZE) counting is cheap, and the count is exact.
    """

    EXACT_BELOW = 100_000

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is None or query.has_filters():
            return super().count
        table = self.object_list.model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table]
                )
                estimate = cursor.fetchone()[0]
                return estimate if estimate >= self.EXACT_BELOW else super().count
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT MAX(rowid) FROM {quoted}")  # noqa: S608 (a model's table)
            return cursor.fetchone()[0] or 0


def recent_filter(field: str, label: str) -> type[admin.SimpleListFilter]:
    """A list filter for rows whose timestamp ``field`` is within the last day, week or month."""

    class RecentFilter(admin.SimpleListFilter):
        title = label
        parameter_name = f"{field}_within"
        spans = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}

        def lookups(self, request, model_admin):
            return [("1d", "last 24 hours"), ("7d", "last 7 days"), ("30d", "last 30 days")]

        def queryset(self, request, queryset):
            span = self.spans.get(self.value())
            if span is None:
                return queryset
            since = format_iso(parse_iso(now_iso()) - span)
            return queryset.filter(**{f"{field}__gte": since})

    return RecentFilter


def link_to(row, field: str) -> str:
    """An admin link to the row ``row.<field>`` points at; a dash, or the dangling id marked.

    Another writer may have left a link to a row that no longer exists (foreign keys off).
    """
    target_id = getattr(row, row._meta.get_field(field).attname)
    if target_id is None:
        return "—"
    try:
        target = getattr(row, field)
    except ObjectDoesNotExist:
        target = None  # a required link to a missing row (a nullable one reads as None)
    if target is None:
        return format_html('<span class="ts-raw" title="no such row">{}</span>', target_id)
    url = reverse(f"admin:memory_app_{target._meta.model_name}_change", args=[quote(target.pk)])
    return format_html('<a href="{}">{}</a>', url, str(target))


AS_STORED = "_as_stored"


def _column(model, name: object):
    try:
        return model._meta.get_field(name) if isinstance(name, str) else None
    except FieldDoesNotExist:
        return None


class ShowsValuesAsStored:
    """Number and time columns shown as the dashboard shows them, through displays.

    Another writer may store text in an INTEGER or REAL column; the admin's number
    formatting fails on some of it ("1.2.3"), so such columns are shown through a
    ``<name>_as_stored`` display that prints any value as it is, marked when it is not a
    number. Time columns show local time with UTC on hover (``{% ts %}``, localized by
    app.js), an unreadable time as stored and marked.
    """

    def __getattr__(self, name: str):
        if not name.endswith(AS_STORED):
            raise AttributeError(name)
        column = name.removesuffix(AS_STORED)
        is_time = isinstance(_column(self.model, column), TimestampField)

        @admin.display(description=column.replace("_", " "), ordering=column)
        def show(row):
            value = getattr(row, column)
            if is_time:
                return ts(value)
            if value is None or isinstance(value, int | float):
                return value
            return format_html('<span class="ts-raw" title="not a number">{}</span>', value)

        return show

    def _as_stored(self, names):
        shown = (IntegerColumn, RealColumn, TimestampField)
        return [n + AS_STORED if isinstance(_column(self.model, n), shown) else n for n in names]


class V1Admin(ShowsValuesAsStored, admin.ModelAdmin):
    """The admin of a v1 table.

    Rows are listed with their links prefetched (``list_prefetch``), not joined: a join
    on a required link would hide a row whose parent another writer removed.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    list_prefetch: tuple[str, ...] = ()
    # Short text columns (names, statuses, times) edit on one line; JSON and long text do not.
    formfield_overrides = {
        TextColumn: {"widget": forms.TextInput(attrs={"size": 60})},
        JSONTextField: {"widget": forms.Textarea(attrs={"rows": 6})},
    }
    long_text: tuple[str, ...] = ()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.long_text:
            kwargs["widget"] = forms.Textarea(attrs={"rows": 6})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*self.list_prefetch)

    def get_list_display(self, request):
        return self._as_stored(super().get_list_display(request))

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            return self._as_stored(fields)
        return fields


class AppendOnlyAdmin(V1Admin):
    """Rows of the audit trail: viewed, never added, changed or deleted here."""

    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FirstRowsFormSet(BaseInlineFormSet):
    """Inline only the first rows: a session may hold thousands of turns."""

    def get_queryset(self):
        if not hasattr(self, "_first_rows"):
            self._first_rows = super().get_queryset()[:INLINE_ROWS]
        return self._first_rows


class ReadOnlyInline(ShowsValuesAsStored, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    formset = FirstRowsFormSet

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return self._as_stored(self.fields)

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


# --- conversations --------------------------------------------------------------------------


class TurnInline(ReadOnlyInline):
    model = Turn
    fields = ["turn_index", "role", "short_content", "token_count", "created_at"]
    ordering = ["turn_index"]
    verbose_name_plural = f"turns (the first {INLINE_ROWS})"

    @admin.display(description="content")
    def short_content(self, turn):
        return turn.content[:200]


class RuntimeHistoryAdmin(V1Admin):
    """Sessions and turns are runtime history: the admin never deletes them, one or in bulk.

    A superuser who must remove data runs ``manage.py remove_session``, which says what it
    removes.
    """

    actions = None

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Session)
class SessionAdmin(RuntimeHistoryAdmin):
    list_display = ["id", "actor", "channel", "status", "started_at", "ended_at", "turns_link"]
    list_filter = ["status", "channel", recent_filter("started_at", "started")]
    search_fields = ["=id", "actor"]
    ordering = ["-started_at"]
    inlines = [TurnInline]

    @admin.display(description="turns")
    def turns_link(self, session):
        query = urlencode({"session__id__exact": session.pk})
        url = reverse("admin:memory_app_turn_changelist") + "?" + query
        return format_html('<a href="{}">turns</a>', url)

    def view_on_site(self, session):
        return session.get_absolute_url()


@admin.register(Turn)
class TurnAdmin(RuntimeHistoryAdmin):
    long_text = ("content",)
    list_display = ["__str__", "session_link", "turn_index", "role", "token_count", "created_at"]
    list_filter = ["role"]
    raw_id_fields = ["session"]
    list_prefetch = ("session",)

    @admin.display(description="session")
    def session_link(self, turn):
        return link_to(turn, "session")


# --- workflows ------------------------------------------------------------------------------


class StepInline(ReadOnlyInline):
    model = WorkflowStep
    fields = ["step_index", "step_name", "status", "started_at", "finished_at"]
    ordering = ["step_index"]


class EventInline(ReadOnlyInline):
    model = TaskEvent
    fk_name = "workflow_run"
    fields = ["created_at", "event_type", "event_level", "message", "step"]
    ordering = ["created_at"]


@admin.register(WorkflowRun)
class WorkflowRunAdmin(V1Admin):
    list_display = ["workflow_name", "status", "trigger_source", "initiated_by", "started_at"]
    list_filter = [
        "status",
        "trigger_source",
        "workflow_name",
        recent_filter("started_at", "started"),
    ]
    search_fields = ["=id", "workflow_name", "initiated_by"]
    ordering = ["-started_at"]
    inlines = [StepInline, EventInline]

    def view_on_site(self, run):
        return run.get_absolute_url()


@admin.register(WorkflowStep)
class WorkflowStepAdmin(V1Admin):
    list_display = ["step_name", "run_link", "step_index", "status", "started_at", "finished_at"]
    list_filter = ["status"]
    raw_id_fields = ["workflow_run"]
    list_prefetch = ("workflow_run",)

    @admin.display(description="run")
    def run_link(self, step):
        return link_to(step, "workflow_run")


@admin.register(TaskEvent)
class TaskEventAdmin(AppendOnlyAdmin):
    list_display = ["created_at", "event_level", "event_type", "message", "run_link", "step_link"]
    list_filter = ["event_level", "event_type", recent_filter("created_at", "created")]
    list_select_related = ["workflow_run", "step"]
    ordering = ["-created_at"]

    @admin.display(description="run")
    def run_link(self, event):
        return link_to(event, "workflow_run")

    @admin.display(description="step")
    def step_link(self, event):
        return link_to(event, "step")


# --- skills and promotion -------------------------------------------------------------------


class ProposalInline(ReadOnlyInline):
    model = Proposal
    fields = ["proposal_type", "risk_level", "status", "created_at"]


@admin.register(Skill)
class SkillAdmin(V1Admin):
    long_text = ("description",)
    list_display = ["skill_key", "source_type", "confidence", "state", "learned_at"]
    list_filter = ["state", "source_type"]
    search_fields = ["skill_key", "description"]
    inlines = [ProposalInline]


class ValidationInline(ReadOnlyInline):
    model = ValidationResult
    fields = ["validated_at", "validator", "build_pass", "lint_pass", "test_pass", "policy_pass"]


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = ["decided_at", "approver", "approval_type", "decision", "notes"]


class DeployInline(ReadOnlyInline):
    model = DeployOutcome
    fields = ["deployed_at", "deployment_target", "status", "summary"]


class OverrideInline(ReadOnlyInline):
    model = Override
    verbose_name = "break-glass decision (bypassed)"
    fields = ["decided_at", "actor", "reason"]
    show_change_link = False


@admin.register(Proposal)
class ProposalAdmin(V1Admin):
    list_display = ["id", "skill_link", "proposal_type", "risk_level", "status", "created_at"]
    list_filter = ["status", "risk_level", "proposal_type", "proposed_by"]
    search_fields = ["=id", "skill__skill_key"]
    raw_id_fields = ["skill"]
    list_prefetch = ("skill",)
    readonly_fields = ["governance_status"]
    inlines = [ValidationInline, ApprovalInline, OverrideInline, DeployInline]

    @admin.display(description="governance (derived from the rows)")
    def governance_status(self, proposal):
        if proposal.pk is None:
            return "—"
        verdict = rule.verdict_for(proposal)
        missing = f"; still missing: {', '.join(verdict.missing)}" if verdict.missing else ""
        if verdict.bypassed:
            bypassed = ", ".join(verdict.bypassed)
            missing = f"; bypassed by {verdict.bypassed_by} (break-glass): {bypassed}"
        return f"{verdict.status}{missing}"

    @admin.display(description="skill")
    def skill_link(self, proposal):
        return link_to(proposal, "skill")

    def view_on_site(self, proposal):
        return proposal.get_absolute_url()


class ProposalRowAdmin(AppendOnlyAdmin):
    list_prefetch = ("proposal",)

    @admin.display(description="proposal")
    def proposal_link(self, row):
        return link_to(row, "proposal")


@admin.register(ValidationResult)
class ValidationResultAdmin(ProposalRowAdmin):
    list_display = ["validated_at", "proposal_link", "validator", "build_pass", "lint_pass",
                    "test_pass", "policy_pass"]  # fmt: skip
    list_filter = ["validator"]


@admin.register(Approval)
class ApprovalAdmin(ProposalRowAdmin):
    """Decisions are recorded only through the governed form on the proposal page."""

    list_display = ["decided_at", "proposal_link", "approver", "approval_type", "decision"]
    list_filter = ["decision", "approval_type"]
    search_fields = ["approver"]


@admin.register(DeployOutcome)
class DeployOutcomeAdmin(ProposalRowAdmin):
    list_display = ["deployed_at", "proposal_link", "deployment_target", "status"]
    list_filter = ["status", "deployment_target"]


# --- profiles: "edit" publishes a new version ---------------------------------------------------


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


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "format", "events", "secret", "active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Admins register endpoints (model permissions: no role group holds them)."""

    form = WebhookEndpointForm
    list_display = ["name", "url", "format", "active", "created_at", "deliveries_link"]
    readonly_fields = ["log_index", "created_at"]

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
