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

# Nothing here depends on the database engine: it runs once, in the SQLite half.
pytestmark = pytest.mark.engine_free

NAME = "tommemory.example/decisions"
ROOT = "A" * 43 + "="


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


def test_a_checkpoint_reads_back_its_time_and_proposal_heads(key):
    checkpoint = Checkpoint(NAME, 7, bytes(range(32)), "2026-12-06T09:00:00.000Z", (3, bytes(32)))
    text = checkpoint.text()
    assert text.splitlines()[3:] == [
        "2026-12-06T09:00:00.000Z",
        "tommemory-proposal-heads 3 " + "A" * 43 + "=",
    ]
    name, public = parse_verifier_key(verifier_key(NAME, key.public_key()))
    assert parse_checkpoint(open_note(sign(text, NAME, key), name, public)) == checkpoint


@pytest.mark.parametrize(
    "text",
    [
        f"{NAME}\n+7\n{ROOT}\n",  # int() would read each of these sizes as a number
        f"{NAME}\n07\n{ROOT}\n",
        f"{NAME}\n1_0\n{ROOT}\n",
        f"{NAME}\n\u0663\n{ROOT}\n",
        f"{NAME}\n{'9' * 5000}\n{ROOT}\n",
        f"{NAME}\n7\n{ROOT[:-4]}\n",
        f"{NAME}\n7\n\u00e9{ROOT[1:]}\n",
        f"{NAME}\n7\n{ROOT}\ntime\ntommemory-proposal-heads 1\n",
        f"{NAME}\n7\n{ROOT}\n" + f"tommemory-proposal-heads 1 {ROOT}\n" * 2,
        f"{NAME}\n7\n{ROOT}",
    ],
)
def test_a_checkpoint_is_read_one_way_only(text):
    with pytest.raises(NoteError, match="not a checkpoint"):
        parse_checkpoint(text)
