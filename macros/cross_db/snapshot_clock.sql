{#- Snapshots run on the one clock too: dbt stamps snapshot rows (dbt_valid_from, dbt_valid_to,
    dbt_updated_at, including the exit of a row that disappeared) with snapshot_get_time(), which
    we dispatch to the as-of date (midnight UTC) instead of the wall clock. A membership first seen
    by the run as of 2026-11-20 is valid from 2026-11-20, whenever the run happened, so history
    built run after run (or in a test, as of D1 then D2) reads in as-of dates. dbt_project.yml's
    dispatch config puts this project before dbt, so this default__ wins over every adapter's. -#}
{% macro default__snapshot_get_time() -%}
    cast('{{ as_of_date_string() }}' as {{ api.Column.translate_type('timestamp') }})
{%- endmacro %}
