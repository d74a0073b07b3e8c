{#- How the incremental day models (int_*_aggregated_to_customer_days) replace the days they
    recompute. Each run's batch holds every row of every day it recomputes, so either way an
    incremental run equals a full refresh:
      - default: delete+insert on the model's unique key (DuckDB, Postgres, Snowflake...);
      - Spark (plain parquet tables have no delete or merge): insert_overwrite of the day
        partitions in the batch (spark.sql.sources.partitionOverwriteMode = dynamic, profiles.yml),
        which replaces those days whole and leaves the others untouched. -#}
{% macro clv_day_incremental_strategy() -%}
    {{ return(adapter.dispatch('clv_day_incremental_strategy', 'clv_segments')()) }}
{%- endmacro %}

{% macro default__clv_day_incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__clv_day_incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{#- The partition column(s) of an incremental day model: the day on Spark (what insert_overwrite
    replaces), none elsewhere. -#}
{% macro clv_day_partition_by(day_column) -%}
    {{ return(adapter.dispatch('clv_day_partition_by', 'clv_segments')(day_column)) }}
{%- endmacro %}

{% macro default__clv_day_partition_by(day_column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__clv_day_partition_by(day_column) -%}
    {{ return([day_column]) }}
{%- endmacro %}
