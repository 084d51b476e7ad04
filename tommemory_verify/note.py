"""Signed checkpoints in the form transparency logs use (C2SP signed-note, tlog-checkpoint).

A checkpoint names the log (its origin), the tree size and the root hash, one per line,
then (an extension line) when it was signed::

    tommemory.example/decisions
    1042
    ZLTnW3mbTF5NOuAmdUiCrsF5BsHG8vRm/ETKLRT0SXs=
    2026-11-28T06:50:00.000Z

    — tommemory.example/decisions Rr4bbK4M0i2i...

After a blank line, each signature line is an em dash, the key's name, and base64 of the
key's 4-byte id followed by the Ed25519 signature of the text above the blank line. The
id is the first 4 bytes of SHA-256(name, newline, 0x01, public key). A verifier key is
written ``name+hex id+base64(0x01 || public key)``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
DASH = "\u2014"


class NoteError(ValueError):
    """A note or checkpoint that is malformed, or not signed by the key given."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    # An extension line: when the tree head was signed (ISO-8601 UTC).
    time: str | None = None

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *([self.time] if self.time else [])]) + "\n"


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + raw_public_key(public_key)).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    encoded = base64.b64encode(ED25519 + raw_public_key(public_key)).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, Ed25519PublicKey]:
    """``name+id+key`` as written by ``verifier_key``; its id must match the key."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)  # base64 may hold "+"
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as error:
        raise NoteError(f"not a verifier key (name+id+key): {text.strip()[:80]!r}") from error
    if raw[:1] != ED25519 or len(raw) != 33:
        raise NoteError("the verifier key is not an Ed25519 key")
    key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, key).hex() != hex_id:
        raise NoteError("the verifier key's id does not match its key")
    return name, key


def sign(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The note: ``text`` (which ends with a newline), a blank line, one signature line."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends with a newline and has no blank line")
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"a key name has no spaces or '+': {name!r}")
    signature = private_key.sign(text.encode())
    line = base64.b64encode(key_id(name, private_key.public_key()) + signature).decode()
    return f"{text}\n{DASH} {name} {line}\n"


def open_note(note: str, name: str, public_key: Ed25519PublicKey) -> str:
    """The text of a note that ``name``'s key signed; NoteError otherwise."""
    text, separator, signatures = note.partition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    text += "\n"
    wanted = key_id(name, public_key)
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or parts[1] != name:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if blob[:4] != wanted:
            continue
        try:
            public_key.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature by {name} does not match the note") from None
        return text
    raise NoteError(f"the note carries no signature by {name}'s key")


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    try:
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    except (IndexError, ValueError) as error:
        raise NoteError("not a checkpoint: origin, size and root hash lines expected") from error
    if not origin or size < 0 or len(root) != 32:
        raise NoteError(
            "not a checkpoint: empty origin, negative size or a root of the wrong length"
        )
    return Checkpoint(origin, size, root)
