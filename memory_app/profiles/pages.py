"""Profile version history, effective windows, diffs, publishing a new version and
withdrawing a scheduled one."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from memory_app import access, jsondiff
from memory_app.access import reader_required
from memory_app.exports import export_response, wants_export
from memory_app.forms import IsoDateTimeField
from memory_app.page_parts import HtmxHttpRequest, fragment
from memory_app.profiles.forms import PublishForm, WithdrawForm
from memory_app.profiles.models import (
    BehaviorProfile,
    PersonalityProfile,
    ProfileVersion,
    ProfileWithdrawal,
    StartRefused,
    active_version,
    next_version_number,
    window_warnings,
    withdrawable,
)
from memory_app.store import NotFound, RuntimeMemoryStore, StoreError
from memory_app.time_element import time_element
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
    scheduled: list[ProfileVersion]  # oldest first


def _scheduled(versions: list[ProfileVersion], withdrawn: dict, now: str) -> list:
    """The versions (newest first) not withdrawn that start after ``now``."""
    return [v for v in versions if v.pk not in withdrawn and v.starts_after(now)]


def _summaries() -> list[Summary]:
    """One row per profile name and kind (two queries per kind: profiles are small)."""
    now = now_iso()
    rows = []
    for kind, model in KINDS.items():
        withdrawn = {w.version_id: w for w in ProfileWithdrawal.objects.of_kind(model)}
        by_name: dict[str, list[ProfileVersion]] = {}
        for version in model.objects.order_by("profile_name", "-version"):
            by_name.setdefault(version.profile_name, []).append(version)
        for name, versions in by_name.items():
            last = max(versions, key=lambda v: instant_key(v.created_at))
            rows.append(
                Summary(
                    kind,
                    name,
                    active_version(versions, now),
                    len(versions),
                    last.created_at,
                    _scheduled(versions, withdrawn, now)[::-1],
                )
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
    context = _detail_context(request, kind, name)
    partial = "active" if "at" in request.GET and request.htmx else "compare"
    return render(
        request, fragment(request, "memory_app/profiles/profile_detail.html", partial), context
    )


@dataclass(frozen=True)
class VersionRow:
    """A version as the profile page lists it."""

    version: ProfileVersion
    withdrawal: ProfileWithdrawal | None
    scheduled: bool


def _withdrawable(name: str, versions: list, withdrawn: dict, now: str) -> ProfileVersion | None:
    """The version a withdrawal would take now, to offer its form (the store's rule)."""
    latest = next((v for v in versions if v.pk not in withdrawn), None)
    try:
        return latest and withdrawable(versions, frozenset(withdrawn), name, latest.version, now)
    except StoreError:
        return None


def _detail_context(request: HtmxHttpRequest, kind: str, name: str) -> dict:
    """Everything the profile page shows: its versions (withdrawn and scheduled ones
    marked), which is active now or at ``?at=``, and the comparison ``?base=&compare=``."""
    model = _model_for(kind)
    versions = list(model.objects.versions_of(name))  # newest first
    if not versions:
        raise Http404(f"no {kind} profile named {name!r}")
    by_number = {v.version: v for v in versions}
    now = now_iso()
    withdrawals = ProfileWithdrawal.objects.of(model, [v.pk for v in versions])
    withdrawn = {w.version_id: w for w in withdrawals}
    scheduled = _scheduled(versions, withdrawn, now)
    can_publish = access.can_publish(request.user, model)
    context = {
        "kind": kind,
        "name": name,
        "versions": versions,
        "active_now": active_version(versions, now),
        # A withdrawn version's empty window is no gap or overlap to warn about.
        "warnings": window_warnings([v for v in versions if v.pk not in withdrawn]),
        "rows": [VersionRow(v, withdrawn.get(v.pk), v in scheduled) for v in versions],
        "withdrawable": _withdrawable(name, versions, withdrawn, now) if can_publish else None,
        "withdraw_form": WithdrawForm(),
        "can_publish": can_publish,
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
    return context


@require_POST
@reader_required
def withdraw(request: HtmxHttpRequest, kind: str, name: str, version: int) -> HttpResponse:
    """Withdraw a scheduled version before it starts (profile admins only): the version
    before it stays in effect; who, when and why are kept. A refusal re-renders the
    profile page with the reason beside the form (422), having written nothing."""
    model = _model_for(kind)
    if not access.can_publish(request.user, model):
        raise PermissionDenied("Withdrawing profile versions needs the profile-admin role.")
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            RuntimeMemoryStore().withdraw_version(
                model,
                name,
                version,
                withdrawn_by=request.user.get_username(),
                reason=form.cleaned_data["reason"],
            )
        except NotFound as exc:
            raise Http404(str(exc)) from None
        except StoreError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Withdrew {name} v{version}: it never takes effect.")
            return redirect(reverse("memory_app:profile", args=[kind, name]))
    context = _detail_context(request, kind, name) | {"withdraw_form": form}
    return render(request, "memory_app/profiles/profile_detail.html", context, status=422)


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
        except StartRefused as exc:
            # Beside the field it is about, its time in the reader's zone.
            form.add_error("effective_from", format_html(exc.text, time_element(exc.moment)))
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
