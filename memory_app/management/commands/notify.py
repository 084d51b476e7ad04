"""Tell ops about rows other writers added, and send the email digests that are due.

    python manage.py notify

Writes through this dashboard's store notify at once (through the worker,
``python manage.py db_worker``); rows the agent runtime or another process writes are
noticed when this runs (cron: every minute) or at the next write through the store.
"""

from django.core.management.base import BaseCommand

from memory_app.notify import notifications


class Command(BaseCommand):
    help = "Turn new decision-log entries into webhook deliveries and send due email digests."

    def handle(self, *args, **options) -> None:
        made = notifications.dispatch_now()
        digests = notifications.digests_now()
        self.stdout.write(
            f"{made} webhook deliver{'y' if made == 1 else 'ies'} queued for the worker, "
            f"{digests} digest{'' if digests == 1 else 's'} sent"
        )
