"""Session list and search, transcripts, and replay exports."""

from collections.abc import Iterator

from django.db.models.functions import Length, Substr
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from memory_app.access import reader_required
from memory_app.exports import (
    export_response,
    json_record,
    safe_filename,
    stream_json,
    wants_export,
)
from memory_app.forms import encode_cursor
from memory_app.page_parts import (
    HtmxHttpRequest,
    fragment,
    rows_key,
    take_page,
    whole_number,
    without_empty_parameters,
)
from memory_app.profiles.models import BehaviorProfile, PersonalityProfile, active_version
from memory_app.runtime.forms import SessionFilterForm
from memory_app.runtime.models import (
    NEWEST_FIRST,
    SHORT_SEARCH_WINDOW,
    Role,
    Session,
    SessionStatus,
    Turn,
)
from memory_app.timeutil import parse_iso

PAGE_SIZE = 50
TURN_PAGE_SIZE = 100
PREVIEW_CHARS = 4000
# A search counts its matches up to this many and says "more than" beyond: counting every
# match of a common word would cost more than the whole page.
MATCH_COUNT_CEILING = 1000
# Replay exports stream whole turns; a few at a time keeps a worker's memory bounded even
# when each turn is megabytes long.
REPLAY_CHUNK = 20
CONVERSATION_ROLES = [Role.USER, Role.ASSISTANT, Role.AGENT]

SESSION_COLUMNS = [
    ("id", lambda s: s.id),
    ("title", lambda s: s.title),
    ("actor", lambda s: s.actor),
    ("channel", lambda s: s.channel),
    ("status", lambda s: s.status),
    ("started_at", lambda s: s.started_at),
    ("ended_at", lambda s: s.ended_at),
    ("turns", lambda s: s.turn_total or 0),
    ("tokens", lambda s: s.token_total or 0),
    ("metadata_json", lambda s: s.metadata_json),
]
MATCH_COLUMNS = [
    ("session_id", lambda t: t.session_id),
    ("turn_index", lambda t: t.turn_index),
    ("role", lambda t: t.role),
    ("created_at", lambda t: t.created_at),
    # An excerpt, not the whole turn: an export of many matches stays small.
    ("excerpt", lambda t: t.snippet),
    ("excerpt_start", lambda t: t.snippet_start),
    ("content_length", lambda t: t.content_length),
]


@require_GET
@reader_required
@without_empty_parameters
def session_list(
    request: HtmxHttpRequest, form_class: type[SessionFilterForm] = SessionFilterForm
) -> HttpResponse:
    """The sessions, or the turns a search finds. ``form_class`` is the list's filters: the
    URLconf gives one that filters by annotation scores too (the review wing's)."""
    form = form_class(request.GET, rows=Session.objects.all())
    form.count_facets()  # a fragment sends them again too (hx-swap-oob): a reload's counts
    filters = form.chosen()
    sessions = form.filter(Session.objects.all())
    context = {"form": form, "query": filters.get("q", "")}
    if "q" in filters:
        if fmt := wants_export(request):
            matches = form.matching_turns(sessions)
            rows = matches.with_snippet(filters["q"]).iterator()
            return export_response(fmt, rows, MATCH_COLUMNS, "turn-matches")
        context |= _search_page(form, sessions)
    else:
        order = filters.get("sort", NEWEST_FIRST)
        sessions = sessions.with_turn_totals().in_order(order)
        if fmt := wants_export(request):
            return export_response(fmt, sessions.iterator(), SESSION_COLUMNS, "sessions")
        rows = sessions.before(filters.get("after"), order)[: PAGE_SIZE + 1]
        page = take_page(list(rows), PAGE_SIZE)
        context |= {"sessions": page.rows, "order": order, "rows_key": rows_key(page.rows)}
        if page.has_more:
            last = page.rows[-1]
            context["next_cursor"] = ("after", encode_cursor(last.started_at, last.id))
    return render(
        request, fragment(request, "memory_app/runtime/session_list.html", "results"), context
    )


def _search_page(form: SessionFilterForm, sessions) -> dict:
    """A page of matching turns, newest first, and how many match, counted to a ceiling.

    Three queries whatever the number of matches: a word in every thirtieth turn of a
    million reads the page's rows, their sessions' titles and at most
    ``MATCH_COUNT_CEILING`` + 1 rowids.
    """
    filters = form.chosen()
    text = filters["q"]
    below = filters["match_after"][0] if "match_after" in filters else None
    rows = form.matching_turns(sessions, below=below, first=PAGE_SIZE + 1)
    page = take_page(
        list(rows.with_snippet(text).select_related("session")[: PAGE_SIZE + 1]), PAGE_SIZE
    )
    _attach_titles(page.rows)
    counted = form.matching_turns(sessions, first=MATCH_COUNT_CEILING + 1)
    total = counted[: MATCH_COUNT_CEILING + 1].count()
    context = {
        "matches": page.rows,
        # Every value the matches show is in the key (their sessions' too).
        "rows_key": rows_key([*page.rows, *(t.session for t in page.rows)], text),
        "match_total": min(total, MATCH_COUNT_CEILING),
        "more_matches": total > MATCH_COUNT_CEILING,
        "short_window": SHORT_SEARCH_WINDOW,
    }
    if page.has_more:
        context["next_cursor"] = ("match_after", encode_cursor(page.rows[-1].search_rowid))
    return context


def _attach_titles(turns: list[Turn]) -> None:
    """Give each matching turn's session its title (the start of its first user turn), so
    the matches stand under it: one query for the page, through the (session_id,
    turn_index) index."""
    ids = {turn.session_id for turn in turns}
    titled = Session.objects.filter(pk__in=ids).with_turn_totals().values_list("pk", "title")
    titles = dict(titled) if ids else {}
    for turn in turns:
        turn.session.title = titles.get(turn.session_id)


def _preview_turns(session: Session, start: int, roles) -> list[Turn]:
    """A page of turns with content cut to a preview, so huge turns stay cheap."""
    qs = Turn.objects.defer("content").annotate(
        preview=Substr("content", 1, PREVIEW_CHARS), content_length=Length("content")
    )
    return qs.page_of(session, start, TURN_PAGE_SIZE + 1, roles)


def _start_index(request: HtmxHttpRequest) -> int:
    """The ``?from=`` turn index; anything that is not a whole number means the start."""
    return whole_number(request.GET.get("from", 0)) or 0


@require_GET
@reader_required
def session_detail(request: HtmxHttpRequest, session_id: str) -> HttpResponse:
    session = get_object_or_404(Session, pk=session_id)
    fmt = request.GET.get("format")
    if fmt in REPLAY_EXPORTS:
        return REPLAY_EXPORTS[fmt](session)
    if "turn" in request.GET:
        return _full_turn(request, session)
    conversation_only = request.GET.get("view") == "conversation"
    start = _start_index(request)
    page = take_page(
        _preview_turns(session, start, CONVERSATION_ROLES if conversation_only else None),
        TURN_PAGE_SIZE,
    )
    last = page.rows[-1].turn_index if page.rows else start - 1
    # Another writer may store a non-number as turn_index: such a page has no continuation.
    more = isinstance(last, int)
    next_from = last + 1 if more else None
    _attach_profile_versions(session, page.rows)
    context = {
        "session": session,
        "turns": page.rows,
        "has_more": page.has_more and more,
        "next_from": next_from,
        "start": start,
        "tailing": more and session.status == SessionStatus.ACTIVE and not page.has_more,
        "conversation_only": conversation_only,
        "preview_chars": PREVIEW_CHARS,
        # Every value the turns show is in the key: a new or edited turn renders afresh.
        "turns_key": rows_key(page.rows, session.actor, PREVIEW_CHARS),
        "behavior_url": reverse("memory_app:profile", args=["behavior", session.actor]),
        "personality_url": reverse("memory_app:profile", args=["personality", session.actor]),
    }
    return render(
        request, fragment(request, "memory_app/runtime/session_detail.html", "turns"), context
    )


def _attach_profile_versions(session: Session, turns: list[Turn]) -> None:
    """Mark each turn with the behavior and personality versions of its actor then active.

    Two queries for the whole page (the actor's versions), whatever the number of turns.
    """
    for attr, model in (("behavior", BehaviorProfile), ("personality", PersonalityProfile)):
        versions = list(model.objects.versions_of(session.actor))
        for turn in turns:
            readable = parse_iso(turn.created_at) is not None
            active = active_version(versions, turn.created_at) if readable else None
            setattr(turn, f"{attr}_version", active)


def _full_turn(request: HtmxHttpRequest, session: Session) -> HttpResponse:
    """One turn's whole content (the "show all" of a long message)."""
    index = whole_number(request.GET["turn"])
    if index is None:
        raise Http404("turn must be a whole number")
    turn = get_object_or_404(Turn, session=session, turn_index=index)
    context = {"session": session, "turn": turn}
    return render(
        request, fragment(request, "memory_app/runtime/turn_detail.html", "body"), context
    )


# --- replay exports (streamed: a transcript may be long) ---------------------------------


def _session_record(session: Session) -> dict:
    return {
        "id": session.id,
        "actor": session.actor,
        "channel": session.channel,
        "status": session.status,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "metadata": session.json("metadata_json").value,
        "metadata_json": session.metadata_json,
    }


# A replay export reads these columns of each turn as a plain row, never a model instance:
# a long transcript is 100,000 turns, and making an instance of each was most of its time.
TURN_COLUMNS = ("id", "turn_index", "role", "content", "token_count", "created_at", "metadata_json")


def _turn_rows(session: Session) -> Iterator[tuple]:
    """The session's turns in order as tuples of ``TURN_COLUMNS``, read a few at a time."""
    turns = Turn.objects.for_replay(session).values_list(*TURN_COLUMNS)
    return turns.iterator(chunk_size=REPLAY_CHUNK)


def _replay_json(session: Session) -> Iterator[str]:
    yield '{"session": ' + json_record(_session_record(session))
    yield ',\n"turns": ['
    for n, row in enumerate(_turn_rows(session)):
        yield ("\n" if n == 0 else ",\n") + json_record(dict(zip(TURN_COLUMNS, row, strict=True)))
    yield "\n]}\n"


def _replay_markdown(session: Session) -> Iterator[str]:
    yield f"# Session {session.id}\n\n"
    yield f"- actor: {session.actor}\n- channel: {session.channel or '—'}\n"
    yield f"- status: {session.status}\n- started: {session.started_at}\n"
    yield f"- ended: {session.ended_at or '—'}\n\n"
    for _, index, role, content, tokens, created_at, _ in _turn_rows(session):
        count = f" · {tokens} tokens" if tokens is not None else ""
        yield f"## {index} · {role} · {created_at}{count}\n\n{content}\n\n"


def _export_filename(session: Session, ext: str) -> str:
    return f"session-{safe_filename(session.id)}.{ext}"


REPLAY_EXPORTS = {
    "json": lambda s: stream_json(_replay_json(s), _export_filename(s, "json"), "application/json"),
    "md": lambda s: stream_json(
        _replay_markdown(s), _export_filename(s, "md"), "text/markdown; charset=utf-8"
    ),
}
