"""PostgreSQL: the SQL functions SQLite connections get from Python (apps._prepare_sqlite).

``tom_instant(text)`` reads a stored time exactly as ``memory_app.timeutil.parse_iso``
does (the same regular expressions, copied here so this migration never changes): the
canonical text of the instant, or NULL when it cannot be read. ``tom_json_object(text)``
is the JSON object a column holds, or NULL when it holds broken JSON or another value.
Both are IMMUTABLE, so indexes and the planner may use them.
"""

from django.db import migrations

from memory_app.vendor_sql import RunSQLFor

ISO_8601 = (
    r"([0-9]{4})"
    r"(?:-([0-9]{2})-([0-9]{2})|([0-9]{2})([0-9]{2})|-?W([0-9]{2})(?:-?([0-9]))?)"
    r"(?:(?:[Tt]| +)([0-9]{2})(?::?([0-9]{2})(?::?([0-9]{2})(?:[.,]([0-9]+))?)?)?"
    r"([Zz]|[+-][0-9]{2}(?::?[0-9]{2}(?::?[0-9]{2}(?:[.,][0-9]+)?)?)?)?)?"
)
ZONE = r"([+-])([0-9]{2})(?::?([0-9]{2})(?::?([0-9]{2})(?:[.,]([0-9]+))?)?)?"

TOM_INSTANT = rf"""
CREATE FUNCTION tom_instant(value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    m text[];
    z text[];
    day date;
    moment timestamp;
    offset_ interval := interval '0';
BEGIN
    IF value IS NULL OR length(value) > 64 THEN
        RETURN NULL;
    END IF;
    m := regexp_match(btrim(value, E' \t\n\r\f' || chr(11)), '^{ISO_8601}$');
    IF m IS NULL OR m[1]::int < 1 THEN
        RETURN NULL;
    END IF;
    IF m[6] IS NOT NULL THEN
        -- ISO week: Monday of week 1 is the Monday on or before 4 January.
        day := make_date(m[1]::int, 1, 4);
        day := day - (extract(isodow FROM day)::int - 1)
            + (m[6]::int - 1) * 7 + (coalesce(m[7], '1')::int - 1);
        IF m[6]::int < 1 OR coalesce(m[7], '1')::int NOT BETWEEN 1 AND 7
                OR extract(isoyear FROM day)::int <> m[1]::int THEN
            RETURN NULL;
        END IF;
    ELSE
        day := make_date(m[1]::int, coalesce(m[2], m[4])::int, coalesce(m[3], m[5])::int);
    END IF;
    IF coalesce(m[8], '0')::int > 23 OR coalesce(m[9], '0')::int > 59
            OR coalesce(m[10], '0')::int > 59 THEN
        RETURN NULL;
    END IF;
    moment := day + make_interval(hours => coalesce(m[8], '0')::int,
                                  mins => coalesce(m[9], '0')::int,
                                  secs => coalesce(m[10], '0')::int)
        + rpad(left(coalesce(m[11], ''), 6), 6, '0')::int * interval '1 microsecond';
    IF m[12] IS NOT NULL AND m[12] NOT IN ('Z', 'z') THEN
        z := regexp_match(m[12], '^{ZONE}$');
        IF coalesce(z[3], '0')::int > 59 OR coalesce(z[4], '0')::int > 59
                OR z[2]::int > 23 THEN
            RETURN NULL;
        END IF;
        offset_ := make_interval(hours => z[2]::int, mins => coalesce(z[3], '0')::int,
                                 secs => coalesce(z[4], '0')::int)
            + rpad(left(coalesce(z[5], ''), 6), 6, '0')::int * interval '1 microsecond';
        IF z[1] = '-' THEN
            offset_ := -offset_;
        END IF;
    END IF;
    moment := moment - offset_;
    IF moment < timestamp '0001-01-01' OR moment >= timestamp '10000-01-01' THEN
        RETURN NULL;
    END IF;
    RETURN to_char(moment, 'YYYY-MM-DD"T"HH24:MI:SS') || '.'
        || lpad((extract(microseconds FROM moment)::int % 1000000 / 1000)::text, 3, '0') || 'Z';
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format
        OR numeric_value_out_of_range THEN
    RETURN NULL;
END $$
"""

TOM_JSON_OBJECT = """
CREATE FUNCTION tom_json_object(value text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    parsed jsonb;
BEGIN
    parsed := value::jsonb;
    RETURN CASE WHEN jsonb_typeof(parsed) = 'object' THEN parsed END;
EXCEPTION WHEN invalid_text_representation OR program_limit_exceeded
        OR statement_too_complex THEN
    RETURN NULL;
END $$
"""


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0012_search_without_copies")]

    operations = [
        RunSQLFor(
            sqlite=[],
            reverse_sqlite=[],
            postgresql=[TOM_INSTANT, TOM_JSON_OBJECT],
            reverse_postgresql=[
                "DROP FUNCTION IF EXISTS tom_json_object(text)",
                "DROP FUNCTION IF EXISTS tom_instant(text)",
            ],
        )
    ]
