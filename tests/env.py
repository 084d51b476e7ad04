"""Loaded with `-p tests.env` before Django settings: safe defaults for a test run."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "insecure-key-for-the-test-suite-only")
# The suite speaks plain HTTP to the test client and the live server; production mode
# (test_security.py) is checked in its own process with the real defaults.
os.environ.setdefault("DJANGO_SSL_REDIRECT", "0")
