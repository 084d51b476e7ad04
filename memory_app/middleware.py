from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django_htmx.http import HttpResponseClientRedirect


class HtmxLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a login; an HTMX request is sent to the login page as a whole page.

    Without this, htmx would swap the login form into whatever fragment asked.
    """

    def handle_no_permission(self, request, view_func):
        response = super().handle_no_permission(request, view_func)
        htmx = getattr(request, "htmx", None)
        if htmx and htmx.current_url_abs_path:
            response = redirect_to_login(htmx.current_url_abs_path, self.get_login_url(view_func))
        return HttpResponseClientRedirect(response.url) if htmx else response
