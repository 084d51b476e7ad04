"""Signing in: the product explained, and in debug mode the demo logins."""

from django.conf import settings
from django.contrib.auth.views import LoginView

from memory_app.demo import DEMO_USERS, demo_password


class SignInView(LoginView):
    template_name = "registration/login.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEBUG:
            context["demo_logins"] = [(name, role or "superuser") for name, role in DEMO_USERS]
            context["demo_password"] = demo_password()
        return context
