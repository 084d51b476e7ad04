"""The Merkle log's hashing and proofs, against RFC 6962's reference vectors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tommemory_verify.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# Nothing here depends on the database engine: it runs once, in the SQLite half.
pytestmark = pytest.mark.engine_free

# The certificate-transparency test data: eight leaves and the root after each.
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip

ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CONSISTENCY = {
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
HASHES = [leaf_hash(leaf) for leaf in LEAVES]


def test_roots_match_the_reference_for_every_size():
    assert root([]) == EMPTY_ROOT
    assert [root(HASHES[:n]).hex() for n in range(1, 9)] == ROOTS


def test_proofs_match_the_reference():
    for (index, size), path in INCLUSION.items():
        assert [h.hex() for h in inclusion_proof(index, HASHES[:size])] == path
    for (old, new), proof in CONSISTENCY.items():
        assert [h.hex() for h in consistency_proof(old, HASHES[:new])] == proof


def test_every_proof_of_the_reference_tree_verifies():
    for size in range(1, 9):
        top = root(HASHES[:size])
        for index in range(size):
            path = inclusion_proof(index, HASHES[:size])
            assert verify_inclusion(HASHES[index], index, size, path, top)
        for old in range(size + 1):
            proof = consistency_proof(old, HASHES[:size])
            assert verify_consistency(old, size, proof, root(HASHES[:old]), top)


@given(st.lists(st.binary(max_size=8), min_size=2, max_size=40), st.data())
def test_a_changed_leaf_or_root_fails_every_proof(leaves, data):
    hashes = [leaf_hash(leaf) for leaf in leaves]
    size = len(hashes)
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size - 1))
    top = root(hashes)
    path = inclusion_proof(index, hashes)
    assert verify_inclusion(hashes[index], index, size, path, top)
    assert not verify_inclusion(leaf_hash(b"forged"), index, size, path, top)
    assert not verify_inclusion(hashes[index], index, size, path, leaf_hash(b"other root"))
    proof = consistency_proof(old, hashes)
    assert verify_consistency(old, size, proof, root(hashes[:old]), top)
    # A history rewritten before the old size: its old root no longer matches.
    rewritten = [leaf_hash(b"rewritten"), *hashes[1:]]
    assert not verify_consistency(
        old, size, consistency_proof(old, rewritten), root(hashes[:old]), root(rewritten)
    )
