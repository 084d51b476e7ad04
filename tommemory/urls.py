from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.urls import urlpatterns as auth_url_patterns
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from memory_app.access import email_required
from memory_app.accounts import SignInView

# Sign-in, sign-out and password change; password reset only works with email
# (memory_app.access.email_required answers 404 without it).
RESET_VIEWS = {
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
auth_urls = [
    path(str(p.pattern), email_required(p.callback), name=p.name) if p.name in RESET_VIEWS else p
    for p in auth_url_patterns
]

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page links; answer without a login. The
    # file's (hashed) name is read when asked: in production the manifest collectstatic
    # writes may not be there yet when the URLs load (manage.py migrate runs first).
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=lazy(static, str)("memory_app/favicon.svg"))),
    ),
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/", include(auth_urls)),
    path("", include("memory_app.urls")),
]
