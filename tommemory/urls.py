from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page links; answer without a login.
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("memory_app/favicon.svg"))),
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("memory_app.urls")),
]
