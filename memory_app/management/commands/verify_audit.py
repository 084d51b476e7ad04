from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from memory_app.promotion import evidence_chain, log_checks
from tommemory_verify.note import NoteError, parse_verifier_key


class Command(BaseCommand):
    help = "Verify the hash chain of every recorded decision; exit 1 naming the first break."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--proposal",
            help="check one proposal's chain only (and, with --checkpoint, its rows in the log "
            "only: a few of the log's tiles, however long the log)",
        )
        parser.add_argument("--database", default="default", help="the database alias to check")
        parser.add_argument(
            "--checkpoint",
            type=Path,
            help="check the decision log against this signed checkpoint (or the newest in "
            "this directory)",
        )
        parser.add_argument(
            "--key",
            type=Path,
            default=None,
            help="verifier key file (default TOM_AUDIT_PUBLIC_KEY)",
        )

    def handle(self, *args, **options) -> None:
        report = evidence_chain.verify(options["proposal"], using=options["database"])
        self.stdout.write(f"checked {report.checked} chained decision(s)")
        if report.unchained:
            self.stdout.write(
                f"{len(report.unchained)} decision(s) recorded by another writer, not chained: "
                + ", ".join(map(repr, report.unchained[:10]))
                + (" ..." if len(report.unchained) > 10 else "")
            )
        # Both checks run, so a rewrite that keeps the chains whole still meets the log.
        log_problem = None
        if options["checkpoint"] is not None:
            key = options["key"] or settings.TOM_AUDIT_PUBLIC_KEY
            log_problem = self._check_log(options["checkpoint"], key, options["proposal"])
        if report.breaks:
            for broken in report.breaks:
                self.stderr.write(f"BROKEN: {broken}")
            raise CommandError(f"decision chain broken; first break: {report.breaks[0]}")
        self.stdout.write(self.style.SUCCESS("decision chain intact"))
        if log_problem:
            raise CommandError(log_problem)

    def _check_log(self, checkpoint: Path, key_file: Path, proposal: str | None) -> str | None:
        """Check the decision log (every entry, or one proposal's); return what is wrong
        with it, or None."""
        try:
            name, public_key = parse_verifier_key(key_file.read_text())
            if proposal is None:
                report = log_checks.verify(checkpoint, name, public_key)
            else:
                report = log_checks.verify_proposal(checkpoint, name, public_key, proposal)
        except (OSError, NoteError) as error:
            raise CommandError(f"cannot check the decision log: {error}") from error
        if not report.intact:
            messages = report.messages()
            for message in messages:
                self.stderr.write(f"LOG: {message}")
            return f"decision log does not match the checkpoint; first: {messages[0]}"
        whose = "" if proposal is None else f" for proposal {proposal!r}"
        self.stdout.write(
            self.style.SUCCESS(
                f"decision log intact{whose}: {report.entries} entries, consistent with the "
                f"signed checkpoint of {report.checkpoint_size}"
            )
        )
        return None
