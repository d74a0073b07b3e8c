{#- Written between a CTE's name and its body (`source as {{ inline_cte() }} (select ...)`): the
    engine inlines the CTE into each reference instead of storing its result. DuckDB (since 1.4)
    materializes every CTE referenced twice, even `select * from` a file of 54 M rows; for a scan
    that two branches filter differently, reading the file twice is far cheaper than storing it
    (DECISIONLOG "Staging at scale"). Postgres has the same syntax; elsewhere the engine decides. -#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'clv_segments')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}
{%- endmacro %}

{% macro duckdb__inline_cte() -%}
    not materialized
{%- endmacro %}

{% macro postgres__inline_cte() -%}
    not materialized
{%- endmacro %}
