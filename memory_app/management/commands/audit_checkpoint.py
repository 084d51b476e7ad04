"""Sign the decision log's current tree head and add it to the checkpoint directory.

    python manage.py audit_checkpoint [--dir memory/checkpoints]

Brings the log up to date (rows other writers added), signs size, root and time with the
key TOM_AUDIT_KEY names (a C2SP signed note), and writes ``checkpoint-<size>-<time>.note``
with ``.leaves`` (the leaf hashes it covers, which ``verify_audit`` uses to name the first
entry that changed). The directory can be a git repository or any store away from the
database host; run it from cron (see the README).
"""

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from memory_app import auditlog
from tommemory_verify.note import sign


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
        taken = auditlog.take_in()
        checkpoint, hashes = auditlog.tree_head()
        directory = directory or settings.TOM_AUDIT_CHECKPOINTS
        directory.mkdir(parents=True, exist_ok=True)
        name = auditlog.checkpoint_name(checkpoint)
        (directory / f"{name}.leaves").write_text("".join(h.hex() + "\n" for h in hashes))
        (directory / f"{name}.note").write_text(sign(checkpoint.text(), checkpoint.origin, key))
        self.stdout.write(
            f"signed {checkpoint.size} log entries ({taken} new) into {directory / name}.note"
        )
