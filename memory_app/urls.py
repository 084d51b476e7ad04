import re

from django.conf import settings
from django.urls import path, re_path, register_converter

from memory_app.converters import TextIdConverter
from memory_app.ingest import receiver
from memory_app.overview import pages as overview
from memory_app.profiles import pages as profiles
from memory_app.promotion import log_pages
from memory_app.promotion import pages as proposals
from memory_app.review import finding_pages as findings
from memory_app.review import pages as annotations
from memory_app.review import queue_pages
from memory_app.review.forms import ScoredSessionFilterForm
from memory_app.runtime import session_pages, workflow_pages

register_converter(TextIdConverter, "textid")

app_name = "memory_app"
LOG = re.escape(settings.TOM_LOG_PREFIX)

urlpatterns = [
    # OTLP/HTTP's own path (exporters append /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT):
    # the one URL an ingest token reaches, and the one without a session login.
    path("v1/traces", receiver.traces, name="otlp_traces"),
    path("", overview.overview, name="overview"),
    path("activity/", overview.activity, name="activity"),
    # The session list filters by score too: the review wing's form (runtime never imports it).
    path(
        "sessions/",
        session_pages.session_list,
        {"form_class": ScoredSessionFilterForm},
        name="sessions",
    ),
    # Annotations post here; listed first so an id ending in /annotations is no issue.
    path(
        "sessions/<textid:session_id>/annotations/",
        annotations.session_annotations,
        name="session_annotations",
    ),
    path("sessions/<textid:session_id>/", session_pages.session_detail, name="session"),
    path(
        "turns/<textid:turn_id>/annotations/", annotations.turn_annotations, name="turn_annotations"
    ),
    path(
        "annotations/<textid:annotation_id>/history/",
        annotations.annotation_history,
        name="annotation_history",
    ),
    path("workflows/", workflow_pages.workflow_list, name="workflows"),
    path(
        "workflows/<textid:run_id>/annotations/",
        annotations.run_annotations,
        name="run_annotations",
    ),
    path("workflows/<textid:run_id>/", workflow_pages.workflow_detail, name="workflow"),
    path("proposals/", proposals.proposal_list, name="proposals"),
    # Not under proposals/: another writer's proposal may have any id, "needs-me" too.
    path("needs-me/", proposals.needs_me, name="needs_me"),
    # A reviewer's finding as a proposal, and a proposal's evidence (the review wing's).
    path("review/findings/new/", findings.new_finding, name="new_finding"),
    path("review/findings/", findings.propose_change, name="propose_change"),
    path(
        "review/proposals/<textid:proposal_id>/evidence/",
        findings.proposal_evidence,
        name="proposal_evidence",
    ),
    # The decision forms post here; listed first so an id ending in /approvals or
    # /break-glass is no issue.
    path(
        "proposals/<textid:proposal_id>/approvals/",
        proposals.record_decision,
        name="record_decision",
    ),
    path(
        "proposals/<textid:proposal_id>/break-glass/",
        proposals.record_override,
        name="record_override",
    ),
    path("proposals/<textid:proposal_id>/", proposals.proposal_detail, name="proposal"),
    path("profiles/", profiles.profile_list, name="profiles"),
    path("profiles/new/", profiles.new_profile, name="new_profile"),
    path("profiles/<str:kind>/<textid:name>/publish/", profiles.publish, name="publish_profile"),
    path(
        "profiles/<str:kind>/<textid:name>/withdraw/<int:version>/",
        profiles.withdraw,
        name="withdraw_profile",
    ),
    path("profiles/<str:kind>/<textid:name>/", profiles.profile_detail, name="profile"),
    # Review queues: ids are ours (uuid7), so "new" is never a queue's.
    path("review/queues/", queue_pages.queue_list, name="review_queues"),
    path("review/queues/new/", queue_pages.queue_new, name="review_queue_new"),
    path("review/queues/<textid:queue_id>/next/", queue_pages.queue_next, name="review_queue_next"),
    path(
        "review/queues/<textid:queue_id>/items/",
        queue_pages.queue_add_items,
        name="review_queue_add_items",
    ),
    path(
        "review/queues/<textid:queue_id>/items/<textid:item_id>/",
        queue_pages.queue_item,
        name="review_queue_item",
    ),
    path("review/queues/<textid:queue_id>/", queue_pages.queue_detail, name="review_queue"),
    # The decision log as a C2SP tlog-tiles log, read-only (auditors, or the log's token).
    re_path(rf"^{LOG}checkpoint$", log_pages.checkpoint, name="log_checkpoint"),
    re_path(rf"^{LOG}(?P<path>tile/.+)$", log_pages.tile, name="log_tile"),
]
