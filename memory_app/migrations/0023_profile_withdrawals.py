"""A scheduled profile version can be withdrawn before it starts (filled in by #22's work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0022_postgresql_log_takes_any_id")]

    operations = []
