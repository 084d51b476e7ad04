"""Reserved for issue #23 (review: annotations, queues, findings); filled in by its work."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0026_review_queues")]

    operations = []
