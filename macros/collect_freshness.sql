{#- Source freshness on the project's clock: dbt compares the newest loaded_at_field with the
    warehouse's current_timestamp; here the clock is the end of the as-of date (the var
    `as_of_date`), so `dbt source freshness --vars "{as_of_date: ...}"` judges a past as-of date
    as the run did. The raw value is parsed as staging parses it (text in CSV files, UTC offsets),
    and rows dated after the as-of date, which staging rejects, cannot make a stale table look fresh.
    Found before dbt's own implementation through `dispatch` in dbt_project.yml. -#}
{% macro default__collect_freshness(source, loaded_at_field, filter) %}
    {%- set as_of_end = dbt.dateadd('day', 1, as_of_date()) -%}
    {% call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
        select
            max(loaded_at) as max_loaded_at,
            cast({{ as_of_end }} as {{ dbt.type_timestamp() }}) as snapshotted_at
        from (
            select {{ parse_timestamp_utc(loaded_at_field) }} as loaded_at
            from {{ source }}
            {% if filter %}where {{ filter }}{% endif %}
        ) as parsed
        where loaded_at < cast({{ as_of_end }} as {{ dbt.type_timestamp() }})
    {%- endcall %}
    {{ return(load_result('collect_freshness')) }}
{% endmacro %}
