"""Who may see and do what. Roles are groups (migration 0004); checks run on the server."""

from collections.abc import Callable
from functools import wraps

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

# Every role (reviewer, ops, profile-admin) holds the view permissions of the v1 models.
READ_PERMISSION = "memory_app.view_session"
# Ops record decisions; profile admins publish new profile versions.
DECIDE_PERMISSION = "memory_app.add_approval"
# Review admins (migration 0025's group) manage score configs and review queues.
MANAGE_REVIEWS_PERMISSION = "memory_app.change_scoreconfig"
# Auditors (migration 0032's group) read the decision log as C2SP serves it.
AUDIT_PERMISSION = "memory_app.view_auditleaf"


def can_read(user) -> bool:
    """Whether the user holds a role that reads runtime memory."""
    return user.has_perm(READ_PERMISSION)


def can_decide(user) -> bool:
    """Ops (and superusers) record decisions on proposals."""
    return user.has_perm(DECIDE_PERMISSION)


def can_manage_reviews(user) -> bool:
    """Review admins (and superusers) manage score configs and review queues."""
    return user.has_perm(MANAGE_REVIEWS_PERMISSION)


def can_audit(user) -> bool:
    """Auditors (and superusers) read the served decision log: checkpoint, tiles, entries."""
    return user.has_perm(AUDIT_PERMISSION)


def deciders() -> models.QuerySet:
    """The active users ``can_decide`` lets record decisions, as one query (digests)."""
    app_label, codename = DECIDE_PERMISSION.split(".")
    granted = {"codename": codename, "content_type__app_label": app_label}
    by_group = models.Q(**{f"groups__permissions__{k}": v for k, v in granted.items()})
    by_user = models.Q(**{f"user_permissions__{k}": v for k, v in granted.items()})
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(models.Q(is_superuser=True) | by_group | by_user)
        .distinct()
    )


def can_break_glass(user) -> bool:
    """Superusers record break-glass decisions, and only while ``TOM_BREAK_GLASS`` is on."""
    return bool(user.is_superuser and settings.TOM_BREAK_GLASS)


def can_publish(user, model: type[models.Model]) -> bool:
    """Profile admins (and superusers) publish new versions of a profile kind."""
    return user.has_perm(f"{model._meta.app_label}.add_{model._meta.model_name}")


PROFILE_KINDS = ("BehaviorProfile", "PersonalityProfile")


def can_publish_any(user) -> bool:
    """Whether the user may publish a version of either profile kind."""
    # Looked up by name: access is the floor, and imports no wing's models.
    kinds = (apps.get_model("memory_app", name) for name in PROFILE_KINDS)
    return any(can_publish(user, m) for m in kinds)


def roles(request: HttpRequest) -> dict[str, bool]:
    """Context processor: what the signed-in user may do, for templates (no ``perms.``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"may": {}}
    return {
        "may": {
            "decide": can_decide(user),
            "publish": can_publish_any(user),
            "manage_reviews": can_manage_reviews(user),
        }
    }


def client_address(request: HttpRequest) -> str | None:
    """The address sign-in failures are counted against (django-axes asks here).

    Behind a reverse proxy (``DJANGO_BEHIND_PROXY``) it is the entry the nearest proxies
    appended to X-Forwarded-For, counted from the right, so a client cannot choose it by
    sending the header itself; without a proxy the header is ignored.
    """
    remote = request.META.get("REMOTE_ADDR")
    if not settings.BEHIND_PROXY:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    return hops[-settings.PROXY_COUNT] if len(hops) >= settings.PROXY_COUNT else remote


def email_required[V: Callable[..., HttpResponse]](view: V) -> V:
    """A page that sends email (password reset) exists only when email is configured."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.MAIL_HOST:
            raise Http404("Password reset is off: no email server is configured.")
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def reader_required[V: Callable[..., HttpResponse]](view: V) -> V:
    """Answer 403 with a clear page to signed-in users who hold no role yet."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_read(request.user):
            return render(request, "memory_app/no_access.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
