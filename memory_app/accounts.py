"""Signing in: the product explained, and in debug mode the demo logins."""

import os

from django.conf import settings
from django.contrib.auth.views import LoginView

# The demo's logins (demo_users makes them, seed_demo's data names them); the sign-in page
# lists them in debug mode only. Four ops people: a critical proposal needs four approval
# types, each from a different person, so the demo can finish a proposal of every risk.
DEMO_USERS = [
    ("demo-admin", None),
    ("demo-reviewer", "reviewer"),
    ("demo-reviewer-2", "reviewer"),
    ("demo-ops", "ops"),
    ("demo-ops-2", "ops"),
    ("demo-ops-3", "ops"),
    ("demo-ops-4", "ops"),
    ("demo-profile-admin", "profile-admin"),
    ("demo-review-admin", "review-admin"),
]


def demo_password() -> str:
    return os.environ.get("TOM_DEMO_PASSWORD", "tommemory-demo")


class SignInView(LoginView):
    template_name = "registration/login.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEBUG:
            context["demo_logins"] = [(name, role or "superuser") for name, role in DEMO_USERS]
            context["demo_password"] = demo_password()
        return context
