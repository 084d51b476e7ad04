from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from memory_app.runtime.models import Session, Turn


class Command(BaseCommand):
    help = (
        "Remove one session and its turns: runtime history, which the admin never deletes. "
        "Says what it would remove; --yes removes it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session_id")
        parser.add_argument("--yes", action="store_true", help="remove it (default: only say)")

    def handle(self, *args, **options) -> None:
        session = Session.objects.filter(pk=options["session_id"]).first()
        if session is None:
            raise CommandError(f"no session with id {options['session_id']!r}")
        turns = Turn.objects.filter(session=session).count()
        what = (
            f"session {session.pk!r} ({session.actor}, started {session.started_at}) "
            f"and its {turns} turn{'s' if turns != 1 else ''}"
        )
        if not options["yes"]:
            self.stdout.write(f"Would remove {what}. Run again with --yes to remove it.")
            return
        with transaction.atomic():
            # The v1 ON DELETE CASCADE removes the turns; the triggers their search entries.
            Session.objects.filter(pk=session.pk).delete()
        self.stdout.write(f"Removed {what}.")
