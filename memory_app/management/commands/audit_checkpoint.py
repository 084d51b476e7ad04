"""Sign the decision log's current tree head and add it to the checkpoint directory.

    python manage.py audit_checkpoint [--dir memory/checkpoints]

Brings the log up to date (rows other writers added), signs size, root, time and the root
of the proposal heads (what each proposal's bundle must hold, ``memory_app.promotion.checkpoints``)
with the key TOM_AUDIT_KEY names (a C2SP signed note), and writes
``checkpoint-<size>-<time>.note`` with ``.leaves`` (the leaf hashes it covers, which
``verify_audit`` uses to name the first entry that changed) and ``.heads`` (the proposal
heads, which ``audit_bundle`` proves a proposal's from). The directory can be a git
repository or any store away from the database host; run it from cron (see the README).
"""

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from memory_app.promotion import checkpoints


def signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise CommandError(
            f"no signing key at {path}: make one with `python manage.py audit_keygen` "
            "(or point TOM_AUDIT_KEY at yours); checkpoints are never signed without one"
        ) from None
    except ValueError as error:
        raise CommandError(f"{path} is not a PEM private key: {error}") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise CommandError(f"{path} is not an Ed25519 key")
    return key


class Command(BaseCommand):
    help = "Sign the decision log's tree head into the checkpoint directory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir", dest="directory", type=Path, default=None, help="checkpoint directory"
        )

    def handle(self, *args, directory: Path | None, **options) -> None:
        key = signing_key(settings.TOM_AUDIT_KEY)
        directory = directory or settings.TOM_AUDIT_CHECKPOINTS
        try:
            signed = checkpoints.sign(key, directory)
        except checkpoints.CheckpointRefused as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"signed {signed.checkpoint.size} log entries ({signed.taken} new) and "
            f"{signed.checkpoint.heads[0]} proposal heads into {signed.note}"
        )
