"""Loaded with `-p tests.env` before Django settings: safe defaults for a test run."""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "insecure-key-for-the-test-suite-only")
# The suite speaks plain HTTP to the test client and the live server; production mode
# (test_security.py) is checked in its own process with the real defaults.
os.environ.setdefault("DJANGO_SSL_REDIRECT", "0")
# Its live servers serve the static files as they are being edited, under their own
# names; production's hashed, compressed files are checked by test_static_files.py.
os.environ.setdefault("TOM_HASHED_STATIC", "0")
# The decision log's key and checkpoints: never a developer's own (memory/), which
# would make what the proposal page says about the log depend on this machine.
_audit = tempfile.mkdtemp(prefix="tom-test-audit-")
os.environ.setdefault("TOM_AUDIT_KEY", os.path.join(_audit, "audit.key"))
os.environ.setdefault("TOM_AUDIT_CHECKPOINTS", os.path.join(_audit, "checkpoints"))
