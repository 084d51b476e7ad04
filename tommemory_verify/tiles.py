"""The Merkle tree as C2SP ``tlog-tiles``, and proofs read from a few of them.

A tile holds 256 consecutive hashes of one tree level: at tile level 0 the leaf hashes, at
tile level ``L`` the hashes of the complete subtrees of ``256**L`` leaves (each the root of
a full tile below). The *n*-th tile of level *L* is served at ``tile/<L>/<N>`` (``N`` in the
spec's ``x001/234`` form); the tiles at the right edge are partial, ``.p/<W>`` with their
width. The levels between two tile levels are hashed again from the tile below when needed.

Any proof of a tree of ``n`` leaves needs the hashes of at most ``2 log2(n)`` complete
subtrees, which lie in a few tiles per tile level (a tree of a million leaves has three
tile levels). So an inclusion or consistency proof, or a root, reads a handful of tiles,
whatever the size of the log: ``needed`` says which (with the width each must have), the
caller reads them all at once (one query, a few file reads, HTTP requests), and ``Proofs``
makes the proofs from what was read. Standard library only: the dashboard keeps its tiles
in the database (``memory_app.promotion.log_tiles``), the checkpoint's proposal heads keep
theirs in a file, and an outside client fetches them over HTTP (``tommemory_verify.tlog``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from . import merkle

HEIGHT = 8  # tree levels per tile level
WIDTH = 1 << HEIGHT  # hashes in a full tile
HASH = 32  # bytes in a hash
ENTRY_MAX = 0xFFFF  # the longest entry an entry bundle holds (a big-endian uint16 length)

Tile = tuple[int, int]  # (tile level, tile index)
Range = tuple[int, int]  # leaves [lo, hi) whose Merkle tree hash a proof holds


class MissingTile(LookupError):
    """A hash was asked of a tile that was not read, or not wide enough."""


# --- paths -----------------------------------------------------------------------------------


def encode_index(n: int) -> str:
    """``N`` as the spec writes it: 3-digit groups, all but the last with an ``x``
    (1234067 -> ``x001/x234/067``)."""
    if n < 0:
        raise ValueError(f"a tile index is not negative: {n}")
    groups = [f"{n % 1000:03d}"]
    while n >= 1000:
        n //= 1000
        groups.append(f"x{n % 1000:03d}")
    return "/".join(reversed(groups))


def tile_path(level: int, index: int, width: int = WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]``."""
    return f"tile/{level}/{encode_index(index)}" + (f".p/{width}" if width < WIDTH else "")


def entries_path(index: int, width: int = WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``."""
    return f"tile/entries/{encode_index(index)}" + (f".p/{width}" if width < WIDTH else "")


_PATH = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?"
)


def parse_path(path: str) -> tuple[int | None, int, int]:
    """(tile level, or None for an entry bundle; tile index; width) of a path under the
    prefix, exactly as the spec writes it (one spelling per tile); ValueError otherwise."""
    found = _PATH.fullmatch(path)
    if found is None:
        raise ValueError(f"not a tile path: {path[:80]!r}")
    index = int(found["index"].replace("x", "").replace("/", ""))
    width = int(found["width"]) if found["width"] else WIDTH
    level = None if found["level"] == "entries" else int(found["level"])
    too_high = level is not None and level > 63
    if too_high or width > WIDTH or (found["width"] and width == WIDTH):
        raise ValueError(f"not a tile path as the spec writes it: {path[:80]!r}")
    if encode_index(index) != found["index"]:
        raise ValueError(f"not a tile path as the spec writes it: {path[:80]!r}")
    return level, index, width


def tiles_of_tree(size: int) -> list[tuple[int, int, int]]:
    """Every (level, index, width) tile of a tree of ``size`` leaves, full tiles first at
    each level, then the partial one at its right edge (if any)."""
    found = []
    level = 0
    while (count := size >> (HEIGHT * level)) > 0:
        found.extend((level, n, WIDTH) for n in range(count // WIDTH))
        if count % WIDTH:
            found.append((level, count // WIDTH, count % WIDTH))
        level += 1
    return found


# --- making tiles ------------------------------------------------------------------------


def edges(size: int) -> list[tuple[int, int, int]]:
    """The partial tiles (level, index, width) at the right edge of a tree of ``size``:
    the ones ``append`` adds to."""
    return [(level, index, width) for level, index, width in tiles_of_tree(size) if width < WIDTH]


def append(size: int, edge: Mapping[int, bytes], new: Sequence[bytes]) -> dict[Tile, bytes]:
    """The tiles that change when ``new`` leaf hashes are appended to a tree of ``size``
    leaves whose partial tiles at each level are ``edge`` (level -> their hashes, as
    ``edges`` names them): each changed or new tile with all its hashes. A tile that fills
    up adds its root to the tile level above."""
    changed: dict[Tile, bytes] = {}
    items, level = list(new), 0
    while items:
        before = size >> (HEIGHT * level)
        index, tile = before // WIDTH, bytearray(edge.get(level, b""))
        if len(tile) != (before % WIDTH) * HASH:
            raise ValueError(f"the edge tile of level {level} is not {before % WIDTH} hashes wide")
        above = []
        for item in items:
            tile += item
            if len(tile) == WIDTH * HASH:
                changed[level, index] = bytes(tile)
                above.append(merkle.root(split(bytes(tile))))
                index, tile = index + 1, bytearray()
        if tile:
            changed[level, index] = bytes(tile)
        items, level = above, level + 1
    return changed


def build(hashes: Sequence[bytes]) -> dict[Tile, bytes]:
    """Every tile of the tree of these leaf hashes."""
    return append(0, {}, hashes)


def split(tile: bytes) -> list[bytes]:
    """A tile's hashes."""
    return [tile[n : n + HASH] for n in range(0, len(tile), HASH)]


# --- which hashes a proof needs -----------------------------------------------------------


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes make the inclusion proof of leaf ``index`` in a tree of
    ``size`` (RFC 6962 2.1.1), from the leaf up."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo += k
    return path[::-1]


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The subtrees whose hashes make the consistency proof from the tree of ``old`` leaves
    to the tree of ``new`` (RFC 6962 2.1.2)."""
    if not 0 <= old <= new:
        raise ValueError(f"no tree of {old} inside one of {new}")
    if old in (0, new):
        return []
    path: list[Range] = []
    lo, hi, complete = 0, new, True
    while True:
        if old == hi:
            if not complete:
                path.append((lo, hi))
            break
        k = _split(hi - lo)
        if old <= lo + k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo, complete = lo + k, False
    return path[::-1]


def subtrees(lo: int, hi: int) -> list[tuple[int, int]]:
    """[lo, hi) as complete subtrees (tree level, index), left to right: the largest first.
    (``lo`` is a multiple of the largest power of two below ``hi - lo``, as every range of
    an RFC 6962 tree is.)"""
    found = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        while lo & ((1 << level) - 1):
            level -= 1
        found.append((level, lo >> level))
        lo += 1 << level
    return found


def _tile_of(level: int, index: int) -> tuple[Tile, int, int]:
    """The tile holding complete subtree (tree level, index), where its hashes start in it,
    and how many of them it is made of."""
    tile_level, below = divmod(level, HEIGHT)
    first = index << below
    return (tile_level, first // WIDTH), first % WIDTH, 1 << below


def needed(ranges: Iterable[Range]) -> dict[Tile, int]:
    """The tiles the hashes of these ranges are read from, with the width each must have."""
    widths: dict[Tile, int] = {}
    for lo, hi in ranges:
        for level, index in subtrees(lo, hi):
            tile, start, count = _tile_of(level, index)
            widths[tile] = max(widths.get(tile, 0), start + count)
    return widths


# --- proofs from the tiles read ------------------------------------------------------------


class Proofs:
    """Roots, leaves and proofs of a tree from the tiles read (each at least as wide as
    ``needed`` said: a wider or full one holds the same hashes first)."""

    def __init__(self, tiles: Mapping[Tile, bytes]):
        self.tiles = tiles
        self._nodes: dict[tuple[int, int], bytes] = {}

    def node(self, level: int, index: int) -> bytes:
        """The hash of complete subtree (tree level, index)."""
        key = (level, index)
        if key not in self._nodes:
            tile, start, count = _tile_of(level, index)
            data = self.tiles.get(tile, b"")
            if len(data) < (start + count) * HASH:
                raise MissingTile(f"{tile_path(*tile)} holds no hash {start + count - 1}")
            hashes = split(data[start * HASH : (start + count) * HASH])
            self._nodes[key] = merkle.root(hashes)
        return self._nodes[key]

    def range_hash(self, lo: int, hi: int) -> bytes:
        """The Merkle tree hash of leaves [lo, hi)."""
        if lo == hi:
            return merkle.EMPTY_ROOT
        nodes = [self.node(level, index) for level, index in subtrees(lo, hi)]
        found = nodes[-1]
        for node in reversed(nodes[:-1]):
            found = merkle.node_hash(node, found)
        return found

    def root(self, size: int) -> bytes:
        return self.range_hash(0, size)

    def leaf(self, index: int) -> bytes:
        return self.node(0, index)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return [self.range_hash(lo, hi) for lo, hi in inclusion_ranges(index, size)]

    def consistency(self, old: int, new: int) -> list[bytes]:
        return [self.range_hash(lo, hi) for lo, hi in consistency_ranges(old, new)]


def read(
    fetch: Callable[[dict[Tile, int]], Mapping[Tile, bytes]],
    *,
    roots: Iterable[int] = (),
    leaves: Iterable[int] = (),
    inclusions: Iterable[tuple[int, int]] = (),
    consistencies: Iterable[tuple[int, int]] = (),
) -> Proofs:
    """Read, in one ``fetch``, every tile the roots of trees of these sizes, these leaf
    hashes, the inclusion proofs of (leaf, size) and the consistency proofs of (old, new)
    need; the ``Proofs`` that make them."""
    ranges: list[Range] = [(0, size) for size in roots]
    ranges += [(index, index + 1) for index in leaves]
    for index, size in inclusions:
        ranges += inclusion_ranges(index, size)
    for old, new in consistencies:
        ranges += consistency_ranges(old, new)
    wanted = needed(ranges)
    return Proofs(fetch(wanted) if wanted else {})
