"""Checkpoints are signed notes: verifiable with the public key alone, refused when forged."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tommemory_verify.merkle import leaf_hash, root
from tommemory_verify.note import (
    Checkpoint,
    NoteError,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign,
    verifier_key,
)

NAME = "tommemory.example/decisions"


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


def test_a_signed_checkpoint_opens_with_its_public_key_and_reads_back(key):
    checkpoint = Checkpoint(NAME, 3, root([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]))
    note = sign(checkpoint.text(), NAME, key)
    assert note.startswith(checkpoint.text() + "\n\u2014 " + NAME + " ")
    name, public = parse_verifier_key(verifier_key(NAME, key.public_key()))
    assert name == NAME
    assert parse_checkpoint(open_note(note, NAME, public)) == checkpoint


def test_an_edited_note_another_key_or_another_name_is_refused(key):
    note = sign(Checkpoint(NAME, 45, bytes(32)).text(), NAME, key)
    with pytest.raises(NoteError, match="does not match the note"):
        open_note(note.replace("\n45\n", "\n46\n"), NAME, key.public_key())
    with pytest.raises(NoteError, match="no signature by"):
        open_note(note, NAME, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(NoteError, match="no signature by"):
        open_note(note, "someone.else/log", key.public_key())
    with pytest.raises(NoteError, match="not a signed note"):
        open_note(Checkpoint(NAME, 45, bytes(32)).text(), NAME, key.public_key())


def test_a_verifier_key_whose_id_does_not_match_is_refused(key):
    name, _, encoded = verifier_key(NAME, key.public_key()).split("+", 2)
    with pytest.raises(NoteError, match="id does not match"):
        parse_verifier_key(f"{name}+00000000+{encoded}")
    with pytest.raises(NoteError, match="not a checkpoint"):
        parse_checkpoint("origin\nnot a number\nAAAA\n")
