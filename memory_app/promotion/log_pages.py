"""The decision log served read-only as a C2SP tlog-tiles log, under ``TOM_LOG_PREFIX``.

- ``<prefix>checkpoint``: the newest signed checkpoint in ``TOM_AUDIT_CHECKPOINTS``, as
  signed (a C2SP signed note: origin, size, root, then our extension lines);
- ``<prefix>tile/<L>/<N>[.p/<W>]``: a tile of the tree's hashes, as stored (``log_tiles``);
  a partial tile of any width the stored one reaches (a wider tile holds the same first
  hashes, so every checkpoint's partial tiles stay served);
- ``<prefix>tile/entries/<N>[.p/<W>]``: the entries a level-0 tile hashes, each the leaf's
  text made again from its row as stored now (``tommemory_verify.leaves``) behind a
  big-endian uint16 length: a row changed after it was logged is served as it is now, so
  its entry no longer hashes to its tile.

Who may read: a signed-in auditor (``access.can_audit``), or a request bearing
``TOM_LOG_TOKEN`` (``Authorization: Bearer <token>``), which needs no session. Anyone else
is sent to sign in (401 with a token that is not the one), or refused (403, signed in
without the role). What cannot be served answers 404 with the reason: a tile the log has not
grown to, a path the spec does not write, an entry longer than a bundle holds (65,535 bytes)
or whose row is gone. Nothing here writes.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from memory_app.access import can_audit
from memory_app.promotion import decision_log, log_tiles
from memory_app.promotion.models import AuditLeaf
from tommemory_verify import leaves, tiles

TEXT = "text/plain; charset=utf-8"
BYTES = "application/octet-stream"
# Tiles and entry bundles never change once served (C2SP: long-lived caching); they are not
# public, so only the reader's own cache keeps them. The checkpoint moves on: a few seconds.
IMMUTABLE = "private, max-age=31536000, immutable"
MUTABLE = "private, max-age=5"
# Tile indexes beyond any log's (2**63 entries: a signed 64-bit column) are no tiles.
LARGEST = 1 << (63 - tiles.HEIGHT)


def _token_matches(header: str) -> bool:
    scheme, _, token = header.partition(" ")
    wanted = settings.TOM_LOG_TOKEN
    return (
        scheme.lower() == "bearer"
        and bool(wanted)
        and hmac.compare_digest(token.strip().encode(), wanted.encode())
    )


def log_reader[V: Callable[..., HttpResponse]](view: V) -> V:
    """A GET (or HEAD) of the served log: by a signed-in auditor or with the log's token."""

    @login_not_required
    @require_safe
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        header = request.headers.get("Authorization")
        if header is not None:
            if _token_matches(header):
                return view(request, *args, **kwargs)
            refused = HttpResponse(
                "The decision log's read token is not this one.\n", status=401, content_type=TEXT
            )
            refused["WWW-Authenticate"] = 'Bearer realm="tommemory decision log"'
            return refused
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_audit(request.user):
            return render(request, "memory_app/no_access.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _missing(why: str) -> HttpResponse:
    return HttpResponse(why + "\n", status=404, content_type=TEXT)


def _served(body: bytes, content_type: str, cache: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = cache
    return response


@log_reader
def checkpoint(request: HttpRequest) -> HttpResponse:
    """The newest signed checkpoint, as signed."""
    try:
        note, _ = decision_log.latest_checkpoint(settings.TOM_AUDIT_CHECKPOINTS)
        text = note.read_bytes()
    except (FileNotFoundError, OSError):
        return _missing("No checkpoint of the decision log has been signed yet.")
    return _served(text, TEXT, MUTABLE)


@log_reader
def tile(request: HttpRequest, path: str) -> HttpResponse:
    """A tile of hashes, or an entry bundle."""
    try:
        level, index, width = tiles.parse_path(path)
    except ValueError as error:
        return _missing(str(error))
    if index >= LARGEST:  # no log holds it, and no database column either
        return _missing(f"{path} is not in the log.")
    if level is None:
        return entries(index, width)
    found = log_tiles.fetch({(level, index): width}).get((level, index), b"")
    if len(found) < width * tiles.HASH:
        return _missing(f"{tiles.tile_path(level, index, width)} is not in the log (yet).")
    return _served(found, BYTES, IMMUTABLE)


def entries(index: int, width: int) -> HttpResponse:
    """The entries of level-0 tile ``index``, its first ``width``, as an entry bundle."""
    first = index * tiles.WIDTH
    logged = list(
        AuditLeaf.objects.filter(index__gte=first, index__lt=first + width).order_by("index")
    )
    if [e.index for e in logged] != list(range(first, first + width)):
        return _missing(f"{tiles.entries_path(index, width)} is not in the log (yet).")
    rows: dict[tuple[str, str], dict] = {}
    for kind in {e.kind for e in logged} & decision_log.KINDS.keys():
        ids = [e.row_id for e in logged if e.kind == kind]
        evidence = decision_log.stored_evidence(ids) if kind == "approval" else {}
        for row_id, row in decision_log.stored_rows(kind, ids).items():
            rows[kind, row_id] = {"row": row, "evidence": evidence.get(row_id)}
    bundle = bytearray()
    for entry in logged:
        found = rows.get((entry.kind, entry.row_id))
        if found is None:
            return _missing(f"entry #{entry.index} ({entry.kind}): its row is gone")
        text = leaves.leaf_text(entry.kind, found["row"], found["evidence"])
        if len(text) > tiles.ENTRY_MAX:
            return _missing(
                f"entry #{entry.index} is {len(text):,} bytes, longer than an entry bundle "
                f"holds ({tiles.ENTRY_MAX:,})"
            )
        bundle += len(text).to_bytes(2, "big") + text
    return _served(bytes(bundle), BYTES, IMMUTABLE)
