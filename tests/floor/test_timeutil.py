import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from memory_app.ids import new_id, uuid7
from memory_app.jsontext import parse_json_text
from memory_app.timeutil import format_iso, normalize_iso, now_iso, parse_iso

# Nothing here depends on the database engine: it runs once, in the SQLite half.
pytestmark = pytest.mark.engine_free

JS_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_now_is_written_as_javascript_to_iso_string():
    assert JS_ISO.match(now_iso())


def test_format_converts_offsets_to_utc_with_milliseconds():
    moment = datetime(2026, 11, 24, 22, 13, 4, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_iso(moment) == "2026-11-24T20:13:04.123Z"


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-24T20:13:04.123Z",
        "2026-11-24 20:13:04.123",
        "2026-11-24T20:13:04.123000+00:00",
        "2026-11-24T21:13:04.123+01:00",
        "2026-11-24T15:13:04.123-05:00",
        "2026-11-24T20:13:04.123456789Z",
        "2026-11-24t20:13:04.123z",
    ],
)
def test_any_iso_form_reads_as_the_same_instant(text):
    assert normalize_iso(text) == "2026-11-24T20:13:04.123Z"


def test_forms_without_fraction_or_time_are_read():
    assert parse_iso("2026-11-24 20:13:04") == datetime(2026, 11, 24, 20, 13, 4, tzinfo=UTC)
    assert parse_iso("2026-11-24") == datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "", "2026-13-45", None, 12, "2026-11-24T25:00"])
def test_unparseable_values_give_none_not_an_error(text):
    assert parse_iso(text) is None


def test_normalize_refuses_unparseable_text():
    with pytest.raises(ValueError, match="not an ISO-8601"):
        normalize_iso("soon")


def test_text_order_of_written_timestamps_is_time_order():
    base = datetime(2026, 1, 1, tzinfo=UTC)
    moments = [base + timedelta(milliseconds=n * 997) for n in range(200)]
    written = [format_iso(m) for m in moments]
    assert sorted(written) == written


def test_uuid7_ids_are_version_7_and_time_ordered():
    ids = [uuid7() for _ in range(2000)]
    assert all(u.version == 7 for u in ids)
    assert [str(u) for u in ids] == sorted(str(u) for u in ids)
    assert len(set(ids)) == len(ids)
    assert isinstance(new_id(), str)


def test_broken_json_keeps_its_raw_text():
    parsed = parse_json_text('{"a": 1,')
    assert not parsed.valid
    assert parsed.pretty == '{"a": 1,'
    assert parse_json_text('{"a": [1]}').pretty == '{\n  "a": [\n    1\n  ]\n}'


def test_postgresql_reads_times_with_the_grammar_python_uses():
    # The migration keeps its own copy (migrations never change); a new grammar needs a
    # new migration, and this says so.
    import importlib

    from memory_app import timeutil

    migration = importlib.import_module("memory_app.migrations.0013_postgresql_functions")
    assert (migration.ISO_8601, migration.ZONE) == (timeutil.ISO_8601, timeutil.ZONE)
