"""The decision log's Merkle tree kept as C2SP tlog-tiles, beside the log (``LogTile``).

Every writer that appends entries to the log writes the tiles they change in the same
transaction (``extend``: Python's ``decision_log.take_in``, the TypeScript store's
``takeIn`` with ``logTiles.ts``, the same steps): the partial tile at the right edge of each
level grows, a tile that fills up adds its root to the level above. So any proof, and the
root of the tree at any size, reads a few tiles (``tommemory_verify.tiles``), never every
leaf: ``proofs`` reads them in one query.

The tiles are derived from the log and hold nothing the log does not. When they are not the
log's (behind it: entries an older writer appended; ahead of it, or their last hash not the
log's: entries taken out of the log, triggers lifted), the next take-in brings them back to
the log: the missing hashes appended, or every tile made again from the log (``rebuild``,
also what migration 0032 does for a log made before tiles). They stop before a gap in the
log's indexes, which ``verify_audit`` reports. Whether the log and its tiles are the ones a
checkpoint signed is for the checkpoint to say (``log_checks``), not for the tiles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import connection as default_connection

from tommemory_verify import tiles

TABLE = "tommemory_log_tiles"
LOG = "tommemory_audit_log"
# Enough tile levels for any log: 256**8 = 2**64 entries.
LEVELS = 8
# The right-edge tile of each level, one index seek each (a UNION of them: one query).
_EDGES = " UNION ALL ".join(
    f'SELECT * FROM (SELECT level, "index", hashes FROM {TABLE} '  # noqa: S608 (fixed names)
    f'WHERE level = {level} ORDER BY "index" DESC LIMIT 1) e{level}'
    for level in range(LEVELS)
)


@dataclass(frozen=True)
class Edge:
    """The tiles as they stand: the tree size they hold, and the partial tile at the right
    edge of each level (level -> its hashes)."""

    size: int
    partial: dict[int, bytes]
    last: bytes | None  # the last leaf hash they hold
    whole: bool  # every level's right edge is where the size puts it


def _edge(cursor) -> Edge:
    cursor.execute(_EDGES)
    rows = {level: (index, bytes.fromhex(hashes)) for level, index, hashes in cursor.fetchall()}
    if 0 not in rows:
        return Edge(0, {}, None, not rows)
    index, leaves = rows[0]
    size = index * tiles.WIDTH + len(leaves) // tiles.HASH
    # Where the size puts each level's right edge (the last tile listed per level).
    rightmost = {level: (i, w) for level, i, w in tiles.tiles_of_tree(size)}
    whole = rows.keys() == rightmost.keys() and all(
        len(hashes) % tiles.HASH == 0 and (i, len(hashes) // tiles.HASH) == rightmost[level]
        for level, (i, hashes) in rows.items()
    )
    partial = {
        level: hashes
        for level, (_, hashes) in rows.items()
        if len(hashes) < tiles.WIDTH * tiles.HASH
    }
    return Edge(size, partial, leaves[-tiles.HASH :] if leaves else None, whole)


def tree_size(connection=default_connection) -> int:
    """How many of the log's entries the tiles hold (the size of the tree proofs are read
    from): the level-0 tile at the right edge says (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "index", length(hashes) FROM {TABLE} '  # noqa: S608 (fixed names)
            'WHERE level = 0 ORDER BY "index" DESC LIMIT 1'
        )
        row = cursor.fetchone()
    return 0 if row is None else row[0] * tiles.WIDTH + row[1] // (2 * tiles.HASH)


def _write(cursor, changed: Mapping[tiles.Tile, bytes], existing: set[tiles.Tile]) -> None:
    """Grow the tiles that were there, add the new ones (in level, then index order: both
    stores write rows in the same order)."""
    for (level, index), hashes in sorted(changed.items()):
        if (level, index) in existing:
            cursor.execute(
                f'UPDATE {TABLE} SET hashes = %s WHERE level = %s AND "index" = %s',  # noqa: S608
                [hashes.hex(), level, index],
            )
        else:
            cursor.execute(
                f'INSERT INTO {TABLE} (level, "index", hashes) VALUES (%s, %s, %s)',  # noqa: S608
                [level, index, hashes.hex()],
            )


def _log_hashes(cursor, start: int, stop: int | None = None) -> list[bytes]:
    """The log's leaf hashes from entry ``start`` (to ``stop``), up to the first gap."""
    bound = ' AND "index" < %s' if stop is not None else ""
    cursor.execute(
        f'SELECT "index", leaf_hash FROM {LOG} WHERE "index" >= %s{bound} '  # noqa: S608
        'ORDER BY "index"',
        [start] if stop is None else [start, stop],
    )
    found = []
    for position, (index, leaf_hash) in enumerate(cursor.fetchall(), start=start):
        if index != position or (leaf := leaf_bytes(leaf_hash)) is None:
            break
        found.append(leaf)
    return found


def leaf_bytes(leaf_hash: object) -> bytes | None:
    """A log entry's leaf hash as bytes; None when it is not one (a writer put something
    else there: the tiles stop before it, and ``verify_audit`` names it)."""
    if not isinstance(leaf_hash, str) or len(leaf_hash) != 2 * tiles.HASH:
        return None
    try:
        return bytes.fromhex(leaf_hash)
    except ValueError:
        return None


def rebuild(connection=default_connection) -> int:
    """Make every tile again from the log's entries (up to a gap); return the tree size."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 (fixed name)
        hashes = _log_hashes(cursor, 0)
        _write(cursor, tiles.build(hashes), set())
    return len(hashes)


def extend(start: int, new: Sequence[bytes], before: bytes | None) -> None:
    """After the log's entries ``start``, ``start + 1``, ... (leaf hashes ``new``) were
    appended, in the same transaction: append them to the tiles. ``before`` is the leaf
    hash of entry ``start - 1`` (None for the first entry): tiles whose last hash is
    another, or that hold more or fewer entries, are brought back to the log first."""
    with default_connection.cursor() as cursor:
        edge = _edge(cursor)
        if not edge.whole or edge.size > start or (edge.size == start and edge.last != before):
            rebuild()
            return
        if edge.size < start:  # entries a writer appended without tiles
            missing = _log_hashes(cursor, edge.size, start)
            if len(missing) < start - edge.size or (
                edge.size and _log_hashes(cursor, edge.size - 1, edge.size) != [edge.last]
            ):
                rebuild()
                return
            new = [*missing, *new]
        changed = tiles.append(edge.size, edge.partial, new)
        existing = {
            (level, (edge.size >> (tiles.HEIGHT * level)) // tiles.WIDTH) for level in edge.partial
        }
        _write(cursor, changed, existing)


def fetch(wanted: Mapping[tiles.Tile, int], connection=default_connection) -> dict:
    """The tiles named (each its first ``width`` hashes, or all it has), in one query."""
    if not wanted:
        return {}
    keys = sorted(wanted)
    params: list[int] = []
    for level, index in keys:
        params += [2 * tiles.HASH * wanted[level, index], level, index]
    # One primary-key seek per tile, and only the hashes asked for leave the database.
    selects = " UNION ALL ".join(
        f'SELECT level, "index", substr(hashes, 1, %s) FROM {TABLE} '  # noqa: S608
        'WHERE level = %s AND "index" = %s'
        for _ in keys
    )
    with connection.cursor() as cursor:
        cursor.execute(selects, params)
        return {(level, index): bytes.fromhex(hashes) for level, index, hashes in cursor}


def proofs(connection=default_connection, **requests) -> tiles.Proofs:
    """``tiles.read`` from the stored tiles: the roots, leaves and proofs asked for."""
    return tiles.read(lambda wanted: fetch(wanted, connection), **requests)


def stored(connection=default_connection) -> dict[tiles.Tile, bytes]:
    """Every tile as stored (a full check of the log reads them all)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT level, "index", hashes FROM {TABLE}')  # noqa: S608
        return {(level, index): bytes.fromhex(hashes) for level, index, hashes in cursor}
