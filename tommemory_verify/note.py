"""Signed checkpoints in the form transparency logs use (C2SP signed-note, tlog-checkpoint).

A checkpoint names the log (its origin), the tree size and the root hash, one per line,
then extension lines (which the C2SP checkpoint format allows after the root hash): when it
was signed, and the size and root of the tree of proposal heads (``tommemory_verify.heads``:
what each proposal's bundle must hold)::

    tommemory.example/decisions
    1042
    ZLTnW3mbTF5NOuAmdUiCrsF5BsHG8vRm/ETKLRT0SXs=
    2026-11-28T06:50:00.000Z
    tommemory-proposal-heads 87 q0m2cXn5i1Qf8m6H0Wq7kK1yZ7b5Pj2q8d3xW5vH1sY=

    — tommemory.example/decisions Rr4bbK4M0i2i...

A checkpoint signed before proposal heads existed has no heads line: it still proves rows
are in the log, but not that a bundle holds all of a proposal's rows.

After a blank line, each signature line is an em dash, the key's name, and base64 of the
key's 4-byte id followed by the Ed25519 signature of the text above the blank line. The
id is the first 4 bytes of SHA-256(name, newline, 0x01, public key). A verifier key is
written ``name+hex id+base64(0x01 || public key)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
DASH = "\u2014"
# The extension line committing to the tree of proposal heads: "<this> <size> <base64 root>".
HEADS_LINE = "tommemory-proposal-heads"
# A tree size as C2SP writes it: ASCII decimal, no sign, no leading zeros (int() would also
# take "+7", " 7", "1_0" and other scripts' digits: one number, one spelling), and below
# 2**64 like every log's size (int() refuses a number of thousands of digits with a
# ValueError of its own).
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


class NoteError(ValueError):
    """A note or checkpoint that is malformed, or not signed by the key given."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    # An extension line: when the tree head was signed (ISO-8601 UTC).
    time: str | None = None
    # An extension line: (size, root) of the tree of proposal heads; None in a checkpoint
    # signed before heads existed.
    heads: tuple[int, bytes] | None = None

    def text(self) -> str:
        lines = [self.origin, str(self.size), _b64(self.root)]
        if self.time:
            lines.append(self.time)
        if self.heads is not None:
            lines.append(f"{HEADS_LINE} {self.heads[0]} {_b64(self.heads[1])}")
        return "\n".join(lines) + "\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


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
    try:
        key = Ed25519PublicKey.from_public_bytes(raw[1:])
        matches = key_id(name, key).hex() == hex_id
    except ValueError as error:  # a name that is not UTF-8 text, a key the library refuses
        raise NoteError(f"not a verifier key: {error}") from error
    if not matches:
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


def split_note(note: str) -> tuple[str, str]:
    """A note's text and its signature lines, no signature checked; NoteError when it is
    not shaped as a signed note."""
    text, separator, signatures = note.partition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    return text + "\n", signatures


def open_note(note: str, name: str, public_key: Ed25519PublicKey) -> str:
    """The text of a note that ``name``'s key signed; NoteError otherwise."""
    text, signatures = split_note(note)
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
        except (InvalidSignature, UnicodeEncodeError):
            raise NoteError(f"the signature by {name} does not match the note") from None
        return text
    raise NoteError(f"the note carries no signature by {name}'s key")


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint a note's text holds; NoteError when it is not one."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("not a checkpoint: origin, size and root hash lines expected")
    origin, size, root, extensions = lines[0], lines[1], lines[2], lines[3:-1]
    if not origin or not _DECIMAL.fullmatch(size):
        raise NoteError("not a checkpoint: an empty origin or a size that is not a number")
    time = heads = None
    for n, line in enumerate(extensions):
        if line.startswith(HEADS_LINE + " "):
            if heads is not None:
                raise NoteError("not a checkpoint: two proposal-heads lines")
            heads = _heads(line)
        elif n == 0:
            time = line
    return Checkpoint(origin, int(size), _hash(root, "root hash"), time, heads)


def _heads(line: str) -> tuple[int, bytes]:
    parts = line.split(" ")
    if len(parts) != 3 or not _DECIMAL.fullmatch(parts[1]):
        raise NoteError(f"not a checkpoint: {HEADS_LINE} <size> <root hash> expected")
    return int(parts[1]), _hash(parts[2], "proposal-heads root")


def _hash(text: str, what: str) -> bytes:
    try:
        value = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        value = b""
    if len(value) != 32:
        raise NoteError(f"not a checkpoint: the {what} is not 32 bytes of base64")
    return value
