"""python -m tommemory_verify.tlog PREFIX_URL --key audit.key.pub [--token-file F] [--origin LOG]

Checks a decision log served as C2SP tlog-tiles (``<prefix>/checkpoint``,
``<prefix>/tile/...``) against its signed checkpoint, as any client of the spec would, with
the public key alone: the checkpoint is signed by the key and names the log; every tile of
its tree is there, as wide as the checkpoint's size says; each hash of a tile above level 0
is the root of the full tile below it; the tree's root is the signed one; and each entry
of every entry bundle hashes to its leaf and is a leaf text of a known kind. Exit 0 when
all hold, 1 when not (each problem on a FAIL line), 2 when nothing can be checked (one
line). Standard library and ``cryptography`` only, as the bundle verifier.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from . import merkle, tiles
from .leaves import KINDS
from .note import NoteError, open_note, parse_checkpoint, parse_verifier_key

CANNOT_CHECK = 2
# A path under the prefix -> its body, or None when the log does not serve it.
Fetch = Callable[[str], bytes | None]


def check(fetch: Fetch, name: str, public_key, origin: str) -> tuple[list[str], str]:
    """What is wrong with the served log (nothing: it is the tree the checkpoint signed), and
    a summary. Raises NoteError when the checkpoint is not one signed by the key."""
    note = fetch("checkpoint")
    if note is None:
        raise NoteError("the log serves no checkpoint")
    checkpoint = parse_checkpoint(open_note(note.decode("utf-8"), name, public_key))
    if checkpoint.origin != origin:
        return [f"the checkpoint is of the log {checkpoint.origin!r}, not of {origin!r}"], ""
    problems: list[str] = []
    read: dict[tiles.Tile, bytes] = {}
    for level, index, width in tiles.tiles_of_tree(checkpoint.size):
        path = tiles.tile_path(level, index, width)
        body = fetch(path)
        if body is None or len(body) != width * tiles.HASH:
            problems.append(f"{path} is not served as {width} hashes")
            continue
        read[level, index] = body
        if level:  # each hash the root of the full tile below it
            for n, above in enumerate(tiles.split(body)):
                below = read.get((level - 1, index * tiles.WIDTH + n))
                if below is not None and merkle.root(tiles.split(below)) != above:
                    problems.append(f"{path}: hash {n} is not the root of the tile below it")
                    break
    if not problems:
        try:
            if tiles.Proofs(read).root(checkpoint.size) != checkpoint.root:
                problems.append("the tiles' tree is not the one the checkpoint signed")
        except tiles.MissingTile as missing:
            problems.append(str(missing))
    entries = 0
    for _, index, width in (t for t in tiles.tiles_of_tree(checkpoint.size) if t[0] == 0):
        found = _bundle_problems(fetch, index, width, read.get((0, index)))
        entries += width if not found else 0
        problems.extend(found)
    summary = (
        f"the log {checkpoint.origin} of {checkpoint.size} entries signed by {name}"
        + (f" at {checkpoint.time}" if checkpoint.time else "")
        + f": every tile, and {entries} entries hashing to their leaves"
    )
    return problems, summary


def _bundle_problems(fetch: Fetch, index: int, width: int, leaves: bytes | None) -> list[str]:
    path = tiles.entries_path(index, width)
    body = fetch(path)
    if body is None:
        return [f"{path} is not served"]
    found, at = [], 0
    while at < len(body):
        length = int.from_bytes(body[at : at + 2], "big")
        found.append(body[at + 2 : at + 2 + length])
        at += 2 + length
    if len(found) != width or at != len(body):
        return [f"{path} does not hold {width} entries"]
    problems = []
    for n, entry in enumerate(found):
        position = index * tiles.WIDTH + n
        if leaves is not None and merkle.leaf_hash(entry) != leaves[n * 32 : n * 32 + 32]:
            problems.append(f"entry #{position} does not hash to its leaf")
            continue
        try:
            kind = json.loads(entry.decode("utf-8", "surrogatepass")).get("kind")
        except (ValueError, AttributeError):
            kind = None
        if kind not in KINDS:
            problems.append(f"entry #{position} is not a decision-log leaf")
    return problems


def http_fetch(prefix: str, token: str | None) -> Fetch:
    """GET each path under ``prefix`` (ending in /), with the log's token when given."""

    def fetch(path: str) -> bytes | None:
        request = urllib.request.Request(prefix + path)  # noqa: S310 (main checks http(s))
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    return fetch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tommemory_verify.tlog", description=__doc__)
    parser.add_argument("prefix", help="the log's URL prefix, e.g. https://tom.example/log/")
    parser.add_argument("--key", type=Path, required=True, help="the log's verifier key file")
    parser.add_argument("--token-file", type=Path, help="a file holding the log's read token")
    parser.add_argument("--origin", default=None, help="default: the verifier key's name")
    args = parser.parse_args(argv)
    if not args.prefix.startswith(("http://", "https://")):
        return _cannot_check("the prefix is not an http(s) URL")
    try:
        name, public_key = parse_verifier_key(args.key.read_text(encoding="utf-8"))
        token = args.token_file.read_text(encoding="utf-8").strip() if args.token_file else None
        fetch = http_fetch(args.prefix.rstrip("/") + "/", token)
        problems, summary = check(fetch, name, public_key, args.origin or name)
    except (OSError, UnicodeDecodeError, NoteError, urllib.error.URLError) as error:
        return _cannot_check(str(error))
    for problem in problems:
        print(f"FAIL: {problem}")
    if problems:
        print("NOT the tree the checkpoint signed")
        return 1
    print(f"OK: {summary}")
    return 0


def _cannot_check(why: str) -> int:
    print("cannot check: " + " ".join(why.split()), file=sys.stderr)
    return CANNOT_CHECK


if __name__ == "__main__":
    sys.exit(main())
