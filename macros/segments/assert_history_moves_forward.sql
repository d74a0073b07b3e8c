{#- Pre-hook of the segment and RFM snapshots: history only moves forward. A run whose as-of date
    is before the latest date the snapshot already holds would write exits dated before entries,
    so it stops with a message instead. Backtests and other data sets belong in another database
    (CLV_DUCKDB_PATH) or schema; to restart history, drop the snapshot table. -#}
{% macro assert_history_moves_forward() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set existing = load_relation(this) -%}
    {%- if existing is none -%}{{ return('') }}{%- endif -%}
    {%- set latest = run_query(
        'select max(stamped_at) from (select dbt_valid_from as stamped_at from ' ~ existing
        ~ ' union all select dbt_valid_to from ' ~ existing ~ ') as stamps').columns[0].values()[0] -%}
    {%- if latest is not none and (latest | string)[:10] > as_of_date_string() -%}
        {{ exceptions.raise_compiler_error(
            "Snapshot " ~ this ~ " already holds history up to " ~ (latest | string)[:10]
            ~ ", after var as_of_date = " ~ as_of_date_string() ~ ": segment history only moves forward. "
            ~ "Build backtests or another data set into another database (CLV_DUCKDB_PATH) or schema, "
            ~ "or drop " ~ this ~ " to restart the history.") }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
