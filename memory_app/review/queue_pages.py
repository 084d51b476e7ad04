"""Review queues' pages: the queues with their progress, a queue (its items, progress per
reviewer, agreement per score config, the next item, items to add, the export), and an
item's review page (the item in context, the queue's scores to give, blind: another
reviewer's scores show once you gave yours).

Review admins (``access.can_manage_reviews``) make queues and add items; anyone with a
reader role reviews. Every write is checked on the server and goes through the store.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from memory_app import access
from memory_app.access import reader_required
from memory_app.forms import CursorField, encode_cursor
from memory_app.page_parts import HtmxHttpRequest, take_page
from memory_app.review import findings, queue_export
from memory_app.review.agreement import agreement
from memory_app.review.context import PREVIEW_CHARS, item_context
from memory_app.review.forms import AnnotationForm
from memory_app.review.models import Annotation, ScoreDataType
from memory_app.review.queue_forms import AddFromListForm, AddOneForm, QueueForm
from memory_app.review.queue_models import ReviewQueue, ReviewQueueItem, ReviewReservation
from memory_app.store import NotFound, RuntimeMemoryStore, StoreError
from memory_app.timeutil import now_iso

ITEM_PAGE_SIZE = 50
QUEUE_PAGE = "memory_app/review/queue_detail.html"


def _manager_required(request: HtmxHttpRequest) -> None:
    if not access.can_manage_reviews(request.user):
        raise PermissionDenied("Managing review queues needs the review-admin role.")


def _queue_for_user(request: HtmxHttpRequest, queue_id: str) -> ReviewQueue:
    """The queue with its progress (every reader sees every queue)."""
    return get_object_or_404(ReviewQueue.objects.with_progress(), pk=queue_id)


def _item_for_user(request: HtmxHttpRequest, queue_id: str, item_id: str) -> ReviewQueueItem:
    items = ReviewQueueItem.objects.select_related("queue")
    return get_object_or_404(items, pk=item_id, queue=queue_id)


@require_GET
@reader_required
def queue_list(request: HtmxHttpRequest) -> HttpResponse:
    queues = list(ReviewQueue.objects.with_progress())
    return render(request, "memory_app/review/queue_list.html", {"queues": queues})


@require_http_methods(["GET", "POST"])
@reader_required
def queue_new(request: HtmxHttpRequest) -> HttpResponse:
    """A new queue (review admins): a name, its score configs, reviewers per item."""
    _manager_required(request)
    form = QueueForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            queue = RuntimeMemoryStore().create_review_queue(
                data["name"],
                created_by=request.user.get_username(),
                score_configs=[c.name for c in data["score_configs"]],
                reviewers_per_item=data["reviewers_per_item"],
                reservation_seconds=data["reservation_minutes"] * 60,
                description=data["description"],
            )
        except StoreError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Made the review queue {queue.name}; add its items.")
            return redirect(reverse("memory_app:review_queue", args=[queue.pk]))
    status = 422 if form.is_bound else 200
    return render(request, "memory_app/review/queue_new.html", {"form": form}, status=status)


@require_GET
@reader_required
def queue_detail(request: HtmxHttpRequest, queue_id: str) -> HttpResponse:
    queue = _queue_for_user(request, queue_id)
    if fmt := queue_export.wanted(request):
        if not access.can_manage_reviews(request.user):
            # Blind review: the export holds every reviewer's scores.
            raise PermissionDenied("Exporting a queue's reviews needs the review-admin role.")
        return queue_export.response(queue, fmt)
    return render(request, QUEUE_PAGE, _queue_context(request, queue))


def _queue_context(request: HtmxHttpRequest, queue: ReviewQueue, **forms) -> dict:
    """Everything the queue page shows; ``forms`` replaces the add forms (with errors)."""
    me = request.user.get_username()
    at = now_iso()
    configs = queue.score_configs()
    ratings = queue.ratings()
    rows = queue.items.with_progress().in_order()
    if after := _after(request):
        rows = rows.after(*after)
    page = take_page(list(rows[: ITEM_PAGE_SIZE + 1]), ITEM_PAGE_SIZE)
    last = page.rows[-1] if page.rows else None
    shown = queue.annotations().filter(author=me, queue_item_id__in=[i.pk for i in page.rows])
    mine = set(shown.values_list("queue_item_id", flat=True))
    held = dict(
        ReviewReservation.objects.holding(at)
        .filter(item__in=[i.pk for i in page.rows])
        .values_list("item_id", "reviewer")
    )
    for item in page.rows:
        item.mine, item.holder = item.pk in mine, held.get(item.pk)
    context = {
        "queue": queue,
        "configs": configs,
        "reservation_minutes": queue.reservation_seconds // 60,
        "items": page.rows,
        "next_after": encode_cursor(last.added_at, last.pk) if page.has_more else None,
        "reviewers": queue.reviewer_progress(),
        "agreements": [
            (c, agreement(ratings.get(c.pk, {}), numeric=c.data_type == ScoreDataType.NUMERIC))
            for c in configs
        ],
        "can_manage": access.can_manage_reviews(request.user),
        "propose_url": _propose_url(queue),
        "add_list_form": forms.get("add_list_form") or AddFromListForm(),
        "add_one_form": forms.get("add_one_form") or AddOneForm(),
    }
    return context


@require_POST
@reader_required
def queue_add_items(request: HtmxHttpRequest, queue_id: str) -> HttpResponse:
    """Add items (review admins): every row of a filtered list, or one by one. Items the
    queue holds already are skipped, and the message says how many."""
    _manager_required(request)
    queue = _queue_for_user(request, queue_id)
    one = "target_id" in request.POST
    form = AddOneForm(request.POST) if one else AddFromListForm(request.POST)
    if form.is_valid():
        try:
            added = RuntimeMemoryStore().add_queue_items(
                queue.pk, form.targets(), added_by=request.user.get_username()
            )
        except StoreError as exc:
            form.add_error(None, str(exc))
        else:
            skipped = f"; skipped {added.skipped:,} already in the queue" if added.skipped else ""
            messages.success(request, f"Added {added.added:,} item(s){skipped}.")
            return redirect(reverse("memory_app:review_queue", args=[queue.pk]))
    key = "add_one_form" if one else "add_list_form"
    context = _queue_context(request, queue, **{key: form})
    return render(request, QUEUE_PAGE, context, status=422)


@require_POST
@reader_required
def queue_next(request: HtmxHttpRequest, queue_id: str) -> HttpResponse:
    """Reserve the next item for the signed-in reviewer and open it."""
    queue = _queue_for_user(request, queue_id)
    item = RuntimeMemoryStore().reserve_next_item(queue.pk, reviewer=request.user.get_username())
    if item is None:
        messages.info(request, "Nothing left for you to review in this queue.")
        return redirect(reverse("memory_app:review_queue", args=[queue.pk]))
    return redirect(reverse("memory_app:review_queue_item", args=[queue.pk, item.pk]))


@require_http_methods(["GET", "POST"])
@reader_required
def queue_item(request: HtmxHttpRequest, queue_id: str, item_id: str) -> HttpResponse:
    """An item to review: in context, with the queue's scores to give. Another reviewer's
    scores show only once you gave yours (blind review)."""
    item = _item_for_user(request, queue_id, item_id)
    queue = item.queue
    me = request.user.get_username()
    configs = queue.score_configs()
    form = AnnotationForm(
        request.POST if request.method == "POST" else None,
        configs=configs,
        target_kind=item.target_kind,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            RuntimeMemoryStore().review_item(
                item.pk,
                reviewer=me,
                scores=data["scores"],
                comment=data["comment"],
                correction=data.get("correction") or None,
            )
        except NotFound as exc:
            raise Http404(str(exc)) from None
        except StoreError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Saved your review. Take the next item when ready.")
            return redirect(reverse("memory_app:review_queue_item", args=[queue.pk, item.pk]))
    given = list(
        Annotation.objects.current()
        .filter(queue_item_id=item.pk)
        .with_scores()
        .order_by("created_at", "id")
    )
    yours = [a for a in given if a.author == me]
    done = bool(yours) or ReviewQueueItem.objects.filter(pk=item.pk).done_by(me).exists()
    context = {
        "queue": queue,
        "item": item,
        "context": item_context(item),
        "preview_chars": PREVIEW_CHARS,
        "form": form,
        "done": done,
        "yours": yours,
        # Blind review: the others' annotations only once yours is given.
        "others": [a for a in given if a.author != me] if done else [],
        "hidden": 0 if done else len({a.author for a in given if a.author != me}),
        "offered": ReviewQueueItem.objects.filter(pk=item.pk).offered_to(me, now_iso()).exists(),
    }
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "memory_app/review/queue_item.html", context, status=status)


def _propose_url(queue: ReviewQueue) -> str | None:
    """The address of the form proposing a change from the corrections of the queue's
    reviewed items (as many as a change rests on), or None when there is none."""
    ids = list(queue.corrections().values_list("pk", flat=True)[: findings.MAX_EVIDENCE])
    if not ids:
        return None
    return reverse("memory_app:new_finding") + "?" + urlencode([("annotation", i) for i in ids])


def _after(request: HtmxHttpRequest) -> tuple[str, str] | None:
    """The ``?after=`` cursor of the items' next page; a damaged one means the first page."""
    try:
        return CursorField(length=2).clean(request.GET.get("after", ""))
    except ValidationError:
        return None
