"""The Merkle tree as C2SP tlog-tiles (tommemory_verify.tiles): paths as the spec writes
them, tiles as it defines them, and proofs read from a few tiles that are RFC 6962's."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tommemory_verify import merkle, tiles

# Nothing here depends on the database engine: it runs once, in the SQLite half.
pytestmark = pytest.mark.engine_free


def hashes_of(count: int, salt: str = "") -> list[bytes]:
    return [merkle.leaf_hash(f"{salt}{n}".encode()) for n in range(count)]


def test_a_tree_is_tiled_as_the_spec_s_example_says():
    """tlog-tiles: a tree of 70,000 is 273 full level-0 tiles, one of width 112, one full
    level-1 tile, one of width 17, and one level-2 tile of width 1; 256 is a full tile and a
    level-1 tile of width 1."""
    shape = tiles.tiles_of_tree(70_000)
    assert sum(1 for level, _, width in shape if level == 0 and width == 256) == 273
    assert [t for t in shape if t[2] < 256] == [(0, 273, 112), (1, 1, 17), (2, 0, 1)]
    assert (1, 0, 256) in shape
    assert tiles.tiles_of_tree(256) == [(0, 0, 256), (1, 0, 1)]
    leaves = hashes_of(70_000)
    built = tiles.build(leaves)
    assert sorted((level, index, len(h) // 32) for (level, index), h in built.items()) == shape
    # Level 1 holds the root of each full level-0 tile; level 2 the root of a full level 1.
    assert built[1, 0][:32] == merkle.root(leaves[:256])
    assert built[1, 1][-32:] == merkle.root(leaves[(256 + 16) * 256 : (256 + 17) * 256])
    assert built[2, 0] == merkle.root(leaves[: 256 * 256])
    proofs = tiles.Proofs(built)
    assert proofs.root(70_000) == merkle.root(leaves)
    for index in (0, 65_535, 65_536, 69_999):
        assert proofs.inclusion(index, 70_000) == merkle.inclusion_proof(index, leaves)
    assert proofs.consistency(65_537, 70_000) == merkle.consistency_proof(65_537, leaves)


@pytest.mark.parametrize(
    ("path", "place"),
    [
        ("tile/0/000", (0, 0, 256)),
        ("tile/1/x001/234.p/7", (1, 1234, 7)),
        ("tile/2/x001/x234/067", (2, 1234067, 256)),
        ("tile/entries/005.p/255", (None, 5, 255)),
    ],
)
def test_tile_paths_are_read_and_written_as_the_spec_writes_them(path, place):
    assert tiles.parse_path(path) == place
    level, index, width = place
    written = (
        tiles.entries_path(index, width) if level is None else tiles.tile_path(level, index, width)
    )
    assert written == path


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",  # not three digits
        "tile/0/x000/001",  # a leading zero group: 1 is 001
        "tile/00/000",  # a level with a leading zero
        "tile/64/000",  # above level 63
        "tile/0/000.p/256",  # a full tile has no width
        "tile/0/000.p/0",
        "tile/0/000.p/07",
        "tile/0/000/",
        "tile/entries/x001",
        "../tile/0/000",
    ],
)
def test_any_other_spelling_of_a_tile_is_no_tile(path):
    with pytest.raises(ValueError, match="not a tile path"):
        tiles.parse_path(path)


@given(
    size=st.integers(1, 3_000),
    data=st.data(),
)
def test_proofs_from_tiles_are_the_rfc_6962_proofs(size, data):
    leaves = hashes_of(size, "p")
    built = tiles.build(leaves)
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    proofs = tiles.read(
        lambda wanted: {tile: built[tile][: width * 32] for tile, width in wanted.items()},
        roots=[size, old],
        inclusions=[(index, size)],
        consistencies=[(old, size)],
        leaves=[index],
    )
    root = proofs.root(size)
    assert root == merkle.root(leaves)
    assert proofs.leaf(index) == leaves[index]
    assert merkle.verify_inclusion(leaves[index], index, size, proofs.inclusion(index, size), root)
    assert merkle.verify_consistency(
        old, size, proofs.consistency(old, size), proofs.root(old), root
    )
    # Only the tiles asked for, each no wider than asked: a few per tile level.
    assert len(tiles.needed([(0, size), *tiles.inclusion_ranges(index, size)])) <= 4 * (
        len({level for level, _, _ in tiles.tiles_of_tree(size)})
    )


@given(chunks=st.lists(st.integers(1, 600), min_size=1, max_size=12))
def test_appending_in_any_chunks_makes_the_same_tiles(chunks):
    leaves = hashes_of(sum(chunks), "a")
    kept: dict = {}
    size = 0
    for chunk in chunks:
        edge = {level: kept[level, index] for level, index, _ in tiles.edges(size)}
        kept.update(tiles.append(size, edge, leaves[size : size + chunk]))
        size += chunk
    assert kept == tiles.build(leaves)


def test_a_hash_asked_of_a_tile_not_read_is_said_missing():
    proofs = tiles.Proofs({(0, 0): hashes_of(3)[0] + hashes_of(3)[1]})
    with pytest.raises(tiles.MissingTile, match="tile/0/000"):
        proofs.root(3)
