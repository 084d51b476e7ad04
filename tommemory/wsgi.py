"""WSGI entry point (gunicorn tommemory.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tommemory.settings")

application = get_wsgi_application()
