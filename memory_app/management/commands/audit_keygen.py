"""Make the Ed25519 key pair that signs the decision log's checkpoints.

    python manage.py audit_keygen [--out memory/audit.key]

Writes the private key (PEM, readable by its owner only) and, beside it, ``.pub`` with
the verifier key (``name+id+key``) that auditors check checkpoints and bundles with. Keep
the private key off the database host's backups; hand the ``.pub`` file to auditors.
"""

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tommemory_verify.note import verifier_key


class Command(BaseCommand):
    help = "Make the key pair that signs decision-log checkpoints (refuses to overwrite one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=None, help="private key file")

    def handle(self, *args, out: Path | None, **options) -> None:
        private_path = out or settings.TOM_AUDIT_KEY
        public_path = private_path.with_name(private_path.name + ".pub")
        for path in (private_path, public_path):
            if path.exists():
                raise CommandError(f"{path} exists; move it away first (keys are never replaced)")
        key = Ed25519PrivateKey.generate()
        private_path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        public_path.write_text(verifier_key(settings.TOM_AUDIT_ORIGIN, key.public_key()) + "\n")
        self.stdout.write(f"wrote {private_path} (private, 0600) and {public_path} (verifier key)")
