"""Who may see and do what. Roles are groups (migration 0004); checks run on the server."""

from collections.abc import Callable
from functools import wraps

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Every role (reviewer, ops, profile-admin) holds the view permissions of the v1 models.
READ_PERMISSION = "memory_app.view_session"
# Ops record decisions; profile admins publish new profile versions.
DECIDE_PERMISSION = "memory_app.add_approval"


def can_read(user) -> bool:
    """Whether the user holds a role that reads runtime memory."""
    return user.has_perm(READ_PERMISSION)


def can_decide(user) -> bool:
    """Ops (and superusers) record decisions on proposals."""
    return user.has_perm(DECIDE_PERMISSION)


def can_publish(user, model: type[models.Model]) -> bool:
    """Profile admins (and superusers) publish new versions of a profile kind."""
    return user.has_perm(f"{model._meta.app_label}.add_{model._meta.model_name}")


def can_publish_any(user) -> bool:
    """Whether the user may publish a version of either profile kind."""
    from .models import BehaviorProfile, PersonalityProfile

    return any(can_publish(user, m) for m in (BehaviorProfile, PersonalityProfile))


def roles(request: HttpRequest) -> dict[str, bool]:
    """Context processor: what the signed-in user may do, for templates (no ``perms.``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"may": {}}
    return {"may": {"decide": can_decide(user), "publish": can_publish_any(user)}}


def reader_required[V: Callable[..., HttpResponse]](view: V) -> V:
    """Answer 403 with a clear page to signed-in users who hold no role yet."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_read(request.user):
            return render(request, "memory_app/no_access.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
