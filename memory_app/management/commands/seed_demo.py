import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo import review
from demo.builder import DemoBuilder, DemoSize
from memory_app import timeutil
from memory_app.runtime.models import Session
from memory_app.timeutil import parse_iso


class Command(BaseCommand):
    help = "Fill the runtime database with deterministic demo data for every v1 table."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sessions", type=int, default=DemoSize.sessions)
        parser.add_argument("--turns", type=int, default=DemoSize.turns, help="per session")
        parser.add_argument("--runs", type=int, default=DemoSize.runs, help="workflow runs")
        parser.add_argument("--skills", type=int, default=DemoSize.skills, help="one proposal each")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--anchor",
            help="ISO-8601 time the demo ends at (default: now, to the minute); "
            "same seed and anchor give the same rows",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when sessions already exist"
        )

    def handle(self, *args, **options) -> None:
        if options["if_empty"] and Session.objects.exists():
            self.stdout.write("Runtime database already holds data; demo data not added.")
            return
        size = DemoSize(options["sessions"], options["turns"], options["runs"], options["skills"])
        if min(size.sessions, size.turns, size.runs, size.skills) < 1:
            raise CommandError("--sessions, --turns, --runs and --skills must be at least 1")
        anchor = parse_iso(options["anchor"]) if options["anchor"] else None
        if options["anchor"] and anchor is None:
            raise CommandError(f"--anchor is not an ISO-8601 time: {options['anchor']!r}")
        anchor = anchor or timeutil.now().replace(second=0, microsecond=0)
        counts = DemoBuilder(size, options["seed"], anchor).write(self._progress)
        counts |= review.write(anchor, options["seed"])
        sys.stderr.write("\n")
        for table, count in counts.items():
            self.stdout.write(f"{table:28} {count:>10,}")

    def _progress(self, label: str, done: int | None, total: int | None) -> None:
        """Draw a one-line progress bar on stderr."""
        if not total:
            return
        width = 30
        filled = width * done // total
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r{label:15} [{bar}] {done:,}/{total:,}")
        sys.stderr.flush()
