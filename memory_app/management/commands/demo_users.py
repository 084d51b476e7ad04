from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from memory_app.accounts import DEMO_USERS, demo_password


class Command(BaseCommand):
    help = "Make sure the demo logins exist (one per role) and print them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="also outside DJANGO_DEBUG (never in production)"
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "demo logins have a known password: run with DJANGO_DEBUG=1 (or --force)"
            )
        password = demo_password()
        for username, group in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = True  # every role may use the admin; it shows what their role allows
            user.is_superuser = group is None
            user.save()
            if group:
                user.groups.set([Group.objects.get(name=group)])
        self.stdout.write(f"Demo logins (password: {password})")
        for username, group in DEMO_USERS:
            self.stdout.write(f"  {username:20} {group or 'superuser'}")
