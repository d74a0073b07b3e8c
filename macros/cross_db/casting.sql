{#- Parsing and normalising raw values. Adapter-specific parts are dispatched, with a default. -#}

{#- A raw timestamp (text with or without a UTC offset, or a timestamp) as a UTC timestamp without
    time zone; null when it cannot be parsed. -#}
{% macro parse_timestamp_utc(column) -%}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'clv_segments')(column)) }}
{%- endmacro %}

{% macro default__parse_timestamp_utc(column) -%}
    {{ dbt.safe_cast(column, api.Column.translate_type('timestamp')) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp_utc(column) -%}
    timezone('UTC', try_cast({{ column }} as timestamptz))
{%- endmacro %}

{% macro snowflake__parse_timestamp_utc(column) -%}
    convert_timezone('UTC', try_to_timestamp_tz(to_varchar({{ column }})))::timestamp_ntz
{%- endmacro %}

{% macro bigquery__parse_timestamp_utc(column) -%}
    datetime(safe_cast(cast({{ column }} as string) as timestamp), 'UTC')
{%- endmacro %}

{#- Money: exact decimals with two places, in one type everywhere. -#}
{% macro type_money() -%}
    {{ return(adapter.dispatch('type_money', 'clv_segments')()) }}
{%- endmacro %}

{% macro default__type_money() -%}
    decimal(18, 2)
{%- endmacro %}

{% macro bigquery__type_money() -%}
    numeric
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

{#- A boolean from a boolean or text column ('true'/'false'/'1'/'0'/'yes'/'no'); null otherwise. -#}
{% macro parse_boolean(column) -%}
    case lower(trim(cast({{ column }} as {{ dbt.type_string() }})))
        when 'true' then true when 't' then true when '1' then true when 'yes' then true
        when 'false' then false when 'f' then false when '0' then false when 'no' then false
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

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}
