"""Check tommemory's decision log without the dashboard, the database or Django."""
