"""Who may see and do what. Roles are groups (migration 0004); checks run on the server."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Every role (reviewer, ops, profile-admin) holds the view permissions of the v1 models.
READ_PERMISSION = "memory_app.view_session"


def can_read(user) -> bool:
    """Whether the user holds a role that reads runtime memory."""
    return user.has_perm(READ_PERMISSION)


def reader_required[V: Callable[..., HttpResponse]](view: V) -> V:
    """Answer 403 with a clear page to signed-in users who hold no role yet."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_read(request.user):
            return render(request, "memory_app/no_access.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
