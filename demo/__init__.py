"""Deterministic demo data (``manage.py seed_demo``), outside the production package's
import path: only the seed_demo command imports it."""
