"""Helpers shared by the views: typed HTMX requests, fragments, keyset pages, fragment keys."""

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.encoding import escape_uri_path
from django_htmx.middleware import HtmxDetails

from memory_app.fields import MAX_INTEGER


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def fragment(request: HtmxHttpRequest, template_name: str, partial: str) -> str:
    """The whole page, or only its named partial for an HTMX request."""
    return f"{template_name}#{partial}" if request.htmx else template_name


def without_empty_parameters(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A list page asked with empty parameters redirects to the same query without them.

    A filter form submitted without scripts sends every field, the empty ones too
    (``?actor=&channel=cli``); the URL a person then shares or bookmarks should carry only
    what was chosen (``?channel=cli``). app.js drops them before an in-place request.
    """

    @functools.wraps(view)
    def clean(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        pairs = [(key, value) for key, values in request.GET.lists() for value in values]
        kept = [(key, value) for key, value in pairs if value != ""]
        if len(kept) == len(pairs):
            return view(request, *args, **kwargs)
        query = urlencode(kept)
        return HttpResponseRedirect(escape_uri_path(request.path) + (f"?{query}" if query else ""))

    return clean


def whole_number(value: object) -> int | None:
    """A non-negative whole number from a query parameter, or None (never too big for SQL)."""
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 <= number <= MAX_INTEGER else None


@dataclass(frozen=True)
class Page:
    rows: list
    has_more: bool


def take_page(rows: list, size: int) -> Page:
    """Split a ``size + 1`` fetch into the page and whether more rows follow."""
    return Page(rows=rows[:size], has_more=len(rows) > size)


def rows_key(rows: list, *context: object) -> str:
    """The key of a fragment showing ``rows``: a digest of every value they carry (columns,
    annotations, the rows attached to them) and of ``context``. A cached fragment is thus
    invalidated by the rows themselves: a row another writer adds or edits changes the key
    at once."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(context).encode("utf-8", "surrogatepass"))
    for row in rows:
        values = [(k, _plain(v)) for k, v in vars(row).items() if not k.startswith("_")]
        digest.update(repr(values).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _plain(value: object) -> object:
    """A value as it keys a fragment; an attached row (a profile version) by its type and
    id, since what a fragment shows of it (its number) is append-only."""
    if isinstance(value, models.Model):
        return (type(value).__name__, value.pk)
    return value
