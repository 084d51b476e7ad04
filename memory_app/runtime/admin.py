"""The runtime wing's admin: sessions, turns, workflow runs, steps and task events."""

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from memory_app.admin_parts import (
    INLINE_ROWS,
    AppendOnlyAdmin,
    ReadOnlyInline,
    V1Admin,
    link_to,
    recent_filter,
)
from memory_app.runtime.models import Session, TaskEvent, Turn, WorkflowRun, WorkflowStep


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
