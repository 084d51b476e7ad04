"""Helpers shared by the views: typed HTMX requests, fragments, keyset pages."""

from dataclasses import dataclass

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from ..fields import MAX_INTEGER


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def fragment(request: HtmxHttpRequest, template_name: str, partial: str) -> str:
    """The whole page, or only its named partial for an HTMX request."""
    return f"{template_name}#{partial}" if request.htmx else template_name


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
