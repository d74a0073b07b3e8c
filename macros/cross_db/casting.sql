{#- Parsing and normalising raw values. Adapter-specific parts are dispatched, with a default. -#}

{#- A raw timestamp (text with or without a UTC offset, or a timestamp) as a UTC timestamp without
    time zone; null when it cannot be parsed. Offsets +hh:mm, +hhmm, +hh and Z are accepted directly
    after the time or after a space ("2025-11-13 01:30:03 -0500", as some exports write them): the
    space is removed (utc_offset_without_space) before the engine parses the text. -#}
{% macro parse_timestamp_utc(column) -%}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'clv_segments')(column)) }}
{%- endmacro %}

{#- The regular expression of a time followed by spaces and a UTC offset: group 1 is the time,
    group 4 the offset (plain characters only, so it reads the same in every engine's dialect). -#}
{% macro utc_offset_after_space_pattern() -%}
    ([0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?) +(Z|[+-][0-9]{2}(:?[0-9]{2})?)$
{%- endmacro %}

{#- The text of a raw timestamp with the spaces between its time and its UTC offset removed
    (regexp_replace with \1-style back-references: DuckDB, Postgres, Redshift). -#}
{% macro utc_offset_without_space(column) -%}
    {{ return(adapter.dispatch('utc_offset_without_space', 'clv_segments')(column)) }}
{%- endmacro %}

{% macro default__utc_offset_without_space(column) -%}
    regexp_replace(trim(cast({{ column }} as {{ dbt.type_string() }})), '{{ utc_offset_after_space_pattern() }}', '\1\4')
{%- endmacro %}

{% macro bigquery__utc_offset_without_space(column) -%}
    regexp_replace(trim(cast({{ column }} as string)), r'{{ utc_offset_after_space_pattern() }}', r'\1\4')
{%- endmacro %}

{% macro spark__utc_offset_without_space(column) -%}
    regexp_replace(trim(cast({{ column }} as string)), '{{ utc_offset_after_space_pattern() }}', '$1$4')
{%- endmacro %}

{#- Snowflake string literals unescape backslashes: the back-references are written \\1. -#}
{% macro snowflake__utc_offset_without_space(column) -%}
    regexp_replace(trim(to_varchar({{ column }})), '{{ utc_offset_after_space_pattern() }}', '\\1\\4')
{%- endmacro %}

{% macro default__parse_timestamp_utc(column) -%}
    {{ dbt.safe_cast(utc_offset_without_space(column), api.Column.translate_type('timestamp')) }}
{%- endmacro %}

{#- The common case (ISO 8601, offset right after the time) is cast directly; the regular
    expression only runs on what that cast cannot read. The UTC wall time is taken from the
    instant's microseconds since the epoch: timezone('UTC', ...) goes through ICU and cost ten
    times as much (0.7 s of CPU per million rows, 35 s at 54 M events); it remains only for the
    infinite timestamps, which have no epoch (coalesce evaluates it for those rows alone). -#}
{% macro duckdb__parse_timestamp_utc(column) -%}
    {%- set instant -%}
    coalesce(
        try_cast({{ column }} as timestamptz),
        try_cast({{ utc_offset_without_space(column) }} as timestamptz)
    )
    {%- endset -%}
    coalesce(make_timestamp(epoch_us({{ instant }})), timezone('UTC', {{ instant }}))
{%- endmacro %}

{% macro snowflake__parse_timestamp_utc(column) -%}
    convert_timezone('UTC', try_to_timestamp_tz({{ utc_offset_without_space(column) }}))::timestamp_ntz
{%- endmacro %}

{% macro bigquery__parse_timestamp_utc(column) -%}
    datetime(safe_cast({{ utc_offset_without_space(column) }} as timestamp), 'UTC')
{%- endmacro %}

{#- An id as text, trimmed, empty as null, case-folded unless var normalize_id_case is false. -#}
{% macro normalize_id(column) -%}
    {%- set trimmed = 'nullif(trim(cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ')), \'\')' -%}
    {%- if var('normalize_id_case', true) -%}
        lower({{ trimmed }})
    {%- else -%}
        {{ trimmed }}
    {%- endif -%}
{%- endmacro %}

{#- A label as lower-case trimmed text. -#}
{% macro normalize_label(column) -%}
    nullif(lower(trim(cast({{ column }} as {{ dbt.type_string() }}))), '')
{%- endmacro %}

{#- A boolean from a boolean or text column, any case, spaces trimmed ('true'/'false', 't'/'f',
    '1'/'0', 'yes'/'no', 'y'/'n'); null otherwise. -#}
{% macro parse_boolean(column) -%}
    case lower(trim(cast({{ column }} as {{ dbt.type_string() }})))
        when 'true' then true when 't' then true when '1' then true when 'yes' then true when 'y' then true
        when 'false' then false when 'f' then false when '0' then false when 'no' then false when 'n' then false
    end
{%- endmacro %}

{#- The raw values of a row as one text, for the rejected-rows table. With `when`, only for the
    rows where that condition holds (null otherwise): rendering every row of a large table as text
    is the costliest part of staging, and clean rows never need it. -#}
{% macro raw_row_text(columns, when=none) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), 'null')") -%}
        {%- if not loop.last -%}{%- do parts.append("' | '") -%}{%- endif -%}
    {%- endfor -%}
    {%- if when is none -%}
        {{ dbt.concat(parts) }}
    {%- else -%}
        case when {{ when }} then {{ dbt.concat(parts) }} end
    {%- endif -%}
{%- endmacro %}

{#- True when a raw value is present but does not parse (its parsed form is null). -#}
{% macro unparseable(raw_column, parsed_expression) -%}
    ({{ raw_column }} is not null and {{ parsed_expression }} is null)
{%- endmacro %}

{#- dbt.safe_cast on DuckDB: dbt-duckdb renders a plain cast, which raises on a bad value. -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#- dbt.safe_cast on Spark: try_cast (Spark 3.2+) gives null for a value that does not parse,
    whether or not ANSI mode is on. -#}
{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#- Double precision (dbt.type_float() is a 4-byte float on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'clv_segments')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    {{ dbt.type_float() }}
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{#- Spark: dbt.type_float() is `float`, 4 bytes there too. -#}
{% macro spark__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}
