from django.core.management.base import BaseCommand, CommandError, CommandParser

from memory_app import audit


class Command(BaseCommand):
    help = "Verify the hash chain of every recorded decision; exit 1 naming the first break."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--proposal", help="check one proposal's chain only")
        parser.add_argument("--database", default="default", help="the database alias to check")

    def handle(self, *args, **options) -> None:
        report = audit.verify(options["proposal"], using=options["database"])
        self.stdout.write(f"checked {report.checked} chained decision(s)")
        if report.unchained:
            self.stdout.write(
                f"{len(report.unchained)} decision(s) recorded by another writer, not chained: "
                + ", ".join(map(repr, report.unchained[:10]))
                + (" ..." if len(report.unchained) > 10 else "")
            )
        if report.breaks:
            for broken in report.breaks:
                self.stderr.write(f"BROKEN: {broken}")
            raise CommandError(f"decision chain broken; first break: {report.breaks[0]}")
        self.stdout.write(self.style.SUCCESS("decision chain intact"))
