"""Profile version history, effective windows, diffs, and publishing a new version."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from memory_app import access, jsondiff
from memory_app.access import reader_required
from memory_app.exports import export_response, wants_export
from memory_app.forms import IsoDateTimeField
from memory_app.page_parts import HtmxHttpRequest, fragment
from memory_app.profiles.forms import PublishForm
from memory_app.profiles.models import (
    BehaviorProfile,
    PersonalityProfile,
    ProfileVersion,
    active_version,
    next_version_number,
    window_warnings,
)
from memory_app.store import RuntimeMemoryStore, StoreError
from memory_app.timeutil import instant_key, now_iso

KINDS: dict[str, type[ProfileVersion]] = {
    "behavior": BehaviorProfile,
    "personality": PersonalityProfile,
}


def _model_for(kind: str) -> type[ProfileVersion]:
    try:
        return KINDS[kind]
    except KeyError:
        raise Http404(f"no {kind!r} profiles") from None


@dataclass(frozen=True)
class Summary:
    kind: str
    name: str
    active: ProfileVersion | None
    versions: int
    last_change: str


def _summaries() -> list[Summary]:
    """One row per profile name and kind (one query per kind: profiles are small)."""
    now = now_iso()
    rows = []
    for kind, model in KINDS.items():
        by_name: dict[str, list[ProfileVersion]] = {}
        for version in model.objects.order_by("profile_name", "-version"):
            by_name.setdefault(version.profile_name, []).append(version)
        for name, versions in by_name.items():
            last = max(versions, key=lambda v: instant_key(v.created_at))
            rows.append(
                Summary(kind, name, active_version(versions, now), len(versions), last.created_at)
            )
    return rows


SUMMARY_COLUMNS = [
    ("kind", lambda s: s.kind),
    ("profile_name", lambda s: s.name),
    ("active_version", lambda s: s.active.version if s.active else None),
    ("versions", lambda s: s.versions),
    ("last_change", lambda s: s.last_change),
]


@require_GET
@reader_required
def profile_list(request: HtmxHttpRequest) -> HttpResponse:
    summaries = _summaries()
    if fmt := wants_export(request):
        return export_response(fmt, summaries, SUMMARY_COLUMNS, "profiles")
    return render(request, "memory_app/profiles/profile_list.html", {"summaries": summaries})


def _version_number(request: HtmxHttpRequest, key: str) -> int | None:
    try:
        return int(request.GET[key])
    except (KeyError, ValueError):
        return None


@require_GET
@reader_required
def profile_detail(request: HtmxHttpRequest, kind: str, name: str) -> HttpResponse:
    model = _model_for(kind)
    versions = list(model.objects.versions_of(name))  # newest first
    if not versions:
        raise Http404(f"no {kind} profile named {name!r}")
    by_number = {v.version: v for v in versions}
    context = {
        "kind": kind,
        "name": name,
        "versions": versions,
        "active_now": active_version(versions, now_iso()),
        "warnings": window_warnings(versions),
        "can_publish": access.can_publish(request.user, model),
        "next_version": next_version_number(versions),
    }
    # "Active at": the same answer as RuntimeMemoryStore.latest_active_*_profile.
    at_text = request.GET.get("at", "")
    if at_text:
        try:
            at = IsoDateTimeField().clean(at_text)
            context["active_at"] = active_version(versions, at)
            context["at_checked"] = at
        except ValidationError as exc:
            context["at_error"] = " ".join(exc.messages)
    context["at"] = at_text
    # The comparison: ?base=&compare= (default: the newest version against its predecessor).
    compare = by_number.get(_version_number(request, "compare")) or versions[0]
    base = by_number.get(_version_number(request, "base"))
    if base is None:  # the version before ``compare`` in the newest-first history
        older = versions[versions.index(compare) + 1 :]
        base = older[0] if older else None
    context |= {"base": base, "compare": compare}
    if base is not None:
        before, after = base.document, compare.document
        context["diff_valid"] = before.valid and after.valid
        if before.valid and after.valid:
            context["changes"] = jsondiff.diff(before.value, after.value)
    partial = "active" if "at" in request.GET and request.htmx else "compare"
    return render(
        request, fragment(request, "memory_app/profiles/profile_detail.html", partial), context
    )


@require_http_methods(["GET", "POST"])
@reader_required
def publish(request: HtmxHttpRequest, kind: str, name: str) -> HttpResponse:
    """Publish version N+1 (editing never overwrites): profile admins only.

    The first POST previews the key-level diff against the version it replaces; the
    confirmed one publishes and names the new version and its window.
    """
    model = _model_for(kind)
    if not access.can_publish(request.user, model):
        raise PermissionDenied("Publishing profile versions needs the profile-admin role.")
    store = RuntimeMemoryStore()
    versions = list(model.objects.versions_of(name))
    latest = versions[0] if versions else None
    form = PublishForm(request.POST or None, initial={"document": _start_text(latest)})
    preview = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        values = {
            "created_by": request.user.get_username(),
            "rationale": data["rationale"],
            "source_ref": data["source_ref"] or None,
            "effective_from": data["effective_from"] or None,
        }
        try:
            if request.POST.get("confirm") and not request.POST.get("preview"):
                published = store.publish_version(model, name, data["document"], **values)
                messages.success(request, _published_message(published, latest))
                return redirect(reverse("memory_app:profile", args=[kind, name]))
            store.check_publish(model, name, data["document"], **values)
        except StoreError as exc:
            form.add_error(None, str(exc))
        else:
            preview = _preview(latest, data["document"], data["effective_from"])
    context = {
        "kind": kind,
        "name": name,
        "latest": latest,
        "form": form,
        "preview": preview,
        "next_version": next_version_number(versions),
    }
    # A form that failed re-renders with its errors (422); a preview is a plain 200.
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "memory_app/profiles/profile_publish.html", context, status=status)


def _start_text(latest: ProfileVersion | None) -> str:
    return latest.document.pretty if latest else "{}\n"


@dataclass(frozen=True)
class Preview:
    changes: list
    starts: str


def _preview(latest: ProfileVersion | None, document: dict, effective_from: str | None):
    before = latest.document if latest else None
    changes = jsondiff.diff(before.value, document) if before and before.valid else []
    return Preview(changes=changes, starts=effective_from or "now")


def _published_message(published: ProfileVersion, replaced: ProfileVersion | None) -> str:
    window = f"in effect from {published.effective_from}, open-ended"
    closed = f"; v{replaced.version} now ends there" if replaced else ""
    return f"Published {published.profile_name} v{published.version}, {window}{closed}."


class NewProfileForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k) for k in KINDS])
    name = forms.CharField(max_length=200)


@require_GET
@reader_required
def new_profile(request: HtmxHttpRequest) -> HttpResponse:
    """Pick a kind and a name, then publish its first version."""
    form = NewProfileForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        return redirect(reverse("memory_app:publish_profile", args=[data["kind"], data["name"]]))
    return render(request, "memory_app/profiles/profile_new.html", {"form": form})
