"""Loaded with `-p tests.env` before Django settings: safe defaults for a test run."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "insecure-key-for-the-test-suite-only")
