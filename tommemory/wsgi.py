"""WSGI entry point (gunicorn tommemory.wsgi)."""

import os

from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tommemory.settings")

application = get_wsgi_application()

# In production every page names its static files by the hashed names collectstatic lists
# in its manifest: without the manifest every page would fail, so the server does not start.
if isinstance(staticfiles_storage, ManifestFilesMixin) and not staticfiles_storage.exists(
    staticfiles_storage.manifest_name
):
    raise ImproperlyConfigured(
        f"No static files in {staticfiles_storage.location}: run "
        "`python manage.py collectstatic --no-input` before starting the server "
        "(after each upgrade too)."
    )
