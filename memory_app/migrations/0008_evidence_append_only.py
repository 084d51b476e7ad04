"""The evidence and hash chain beside approvals only grow, like approvals themselves."""

from django.db import migrations

from memory_app.vendor_sql import append_only


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0007_approval_evidence")]

    operations = [
        append_only(
            "tommemory_approval_evidence", "evidence of a decision cannot be changed or deleted"
        )
    ]
