"""Where links in notifications point: ``TOM_BASE_URL`` when it is set; otherwise the
address a person last signed in at, recorded as they sign in (a sign-in is a request the
site answered at the address people use, behind whatever proxy: ``request.scheme``
follows ``SECURE_PROXY_SSL_HEADER``). Recording at sign-in rather than on every page costs
one write per sign-in, not one per page, and no page's queries change."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from memory_app.notify.models import SiteAddress
from memory_app.timeutil import now_iso

# Before anyone has signed in: where ``make run`` serves.
FALLBACK = "http://127.0.0.1:8000"


def base_url() -> str:
    """The address links in webhooks, Slack messages and digests begin with."""
    return settings.TOM_BASE_URL or SiteAddress.objects.last_seen() or FALLBACK


@receiver(user_logged_in, dispatch_uid="tommemory-site-address")
def record_site_address(sender, request: HttpRequest | None, **kwargs) -> None:
    """Keep the address this sign-in came through, when it came through one (a login made
    in code, such as a test's ``force_login``, has no Host header: nothing to keep)."""
    if request is None or settings.TOM_BASE_URL or "HTTP_HOST" not in request.META:
        return
    address = request.build_absolute_uri("/").rstrip("/")
    if SiteAddress.objects.last_seen() != address:
        SiteAddress.objects.record(address, now_iso())
