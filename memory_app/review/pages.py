"""Annotating from where one reads: a turn, a session, a workflow run.

Each target has one address (``<target>/annotations/``): GET shows its current annotations
and the form (an HTMX request gets the panel alone, swapped in place on the transcript or
the run's page; without scripts it is a page of its own), POST records one through the store
and answers with the panel again (or, without scripts, goes back to where it was read). The
author is the signed-in user; a refusal is said beside its field and writes nothing.
An annotation's history (``annotations/<id>/history/``) shows each edit: who, when, what.
"""

from dataclasses import dataclass

from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from memory_app.access import reader_required
from memory_app.errors import StoreError
from memory_app.page_parts import HtmxHttpRequest, fragment
from memory_app.review import history, queries
from memory_app.review.forms import AnnotationForm
from memory_app.review.models import Annotation, ScoreConfig, TargetKind
from memory_app.runtime.models import Session, Turn, WorkflowRun
from memory_app.store import RuntimeMemoryStore

PANEL = "memory_app/review/annotations.html"


@dataclass(frozen=True)
class Target:
    """What is annotated, where it is read, and the panel's element there."""

    kind: str
    row: Turn | Session | WorkflowRun
    title: str
    read_at: str  # the page it is read on, at its place
    dom_id: str  # the panel's element on that page
    action: str  # this target's annotations address

    @property
    def pk(self) -> str:
        return self.row.pk


def _target(kind: str, target_id: str) -> Target:
    """The target, or 404."""
    if kind == TargetKind.TURN:
        turn = get_object_or_404(Turn.objects.select_related("session"), pk=target_id)
        session_url = reverse("memory_app:session", args=[turn.session_id])
        return Target(
            kind,
            turn,
            f"Turn #{turn.turn_index} · {turn.role} of session {turn.session_id}",
            f"{session_url}?from={turn.turn_index}#turn-{turn.turn_index}",
            f"notes-turn-{turn.turn_index}",
            reverse("memory_app:turn_annotations", args=[turn.pk]),
        )
    if kind == TargetKind.SESSION:
        session = get_object_or_404(Session, pk=target_id)
        url = reverse("memory_app:session", args=[session.pk])
        return Target(
            kind,
            session,
            f"Session {session.pk}",
            url + "#notes-session",
            "notes-session",
            reverse("memory_app:session_annotations", args=[session.pk]),
        )
    run = get_object_or_404(WorkflowRun, pk=target_id)
    return Target(
        kind,
        run,
        f"{run.workflow_name} run {run.pk}",
        reverse("memory_app:workflow", args=[run.pk]) + "#notes-run",
        "notes-run",
        reverse("memory_app:run_annotations", args=[run.pk]),
    )


def _yours(target: Target, author: str) -> Annotation | None:
    """Your latest current annotation on the target: what the form edits."""
    mine = Annotation.objects.current().on(target.kind, target.pk).filter(author=author)
    return mine.with_scores().order_by("-created_at", "-id").first()


def _form(target: Target, author: str, data=None) -> AnnotationForm:
    configs = list(ScoreConfig.objects.offered())
    return AnnotationForm(
        data, configs=configs, target_kind=target.kind, editing=_yours(target, author)
    )


def _panel(
    request: HtmxHttpRequest, target: Target, form: AnnotationForm, *, status=200, note=""
) -> HttpResponse:
    on_target = Q(target_kind=target.kind, target_id=target.pk)
    annotations = queries.shown(on_target).of(target.kind, target.pk)
    context = {"target": target, "annotations": annotations, "form": form, "note": note}
    # htmx swaps only 2xx answers: a refusal is shown in place with 200.
    return render(
        request, fragment(request, PANEL, "panel"), context, status=200 if request.htmx else status
    )


def _annotations(request: HtmxHttpRequest, kind: str, target_id: str) -> HttpResponse:
    target = _target(kind, target_id)
    author = request.user.get_username()
    if request.method == "GET":
        return _panel(request, target, _form(target, author))
    form = _form(target, author, request.POST)
    if not form.is_valid():
        return _panel(request, target, form, status=422)
    data = form.cleaned_data
    edited = form.editing if form.editing and form.editing.pk == data["supersedes"] else None
    try:
        RuntimeMemoryStore().annotate(
            target.kind,
            target.pk,
            author=author,
            scores=data["scores"],
            comment=data["comment"],
            correction=data.get("correction") or None,
            supersedes=data["supersedes"] or None,
            # An edit of an annotation given in a review queue stays that queue's.
            queue_item_id=edited.queue_item_id if edited else None,
        )
    except StoreError as exc:
        form.add_error(None, str(exc))
        return _panel(request, target, form, status=422)
    if not request.htmx:
        return redirect(target.read_at)
    return _panel(request, target, _form(target, author), note="Recorded.")


@require_http_methods(["GET", "POST"])
@reader_required
def turn_annotations(request: HtmxHttpRequest, turn_id: str) -> HttpResponse:
    return _annotations(request, TargetKind.TURN, turn_id)


@require_http_methods(["GET", "POST"])
@reader_required
def session_annotations(request: HtmxHttpRequest, session_id: str) -> HttpResponse:
    return _annotations(request, TargetKind.SESSION, session_id)


@require_http_methods(["GET", "POST"])
@reader_required
def run_annotations(request: HtmxHttpRequest, run_id: str) -> HttpResponse:
    return _annotations(request, TargetKind.WORKFLOW_RUN, run_id)


@require_GET
@reader_required
def annotation_history(request: HtmxHttpRequest, annotation_id: str) -> HttpResponse:
    """Every version of an annotation up to this one, each with what it changed."""
    annotation = Annotation.objects.filter(pk=annotation_id).first()
    if annotation is None:
        raise Http404("no such annotation")
    context = {
        "annotation": annotation,
        "target": _target(annotation.target_kind, annotation.target_id),
        "versions": history.versions(annotation),
    }
    template = fragment(request, "memory_app/review/annotation_history.html", "history")
    return render(request, template, context)
