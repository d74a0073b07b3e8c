{#- How the incremental day models (int_*_aggregated_to_customer_days) replace the days they
    recompute. Each run's batch holds every row of every day it recomputes, so either way an
    incremental run equals a full refresh:
      - default: delete+insert on the model's unique key (DuckDB, Postgres, Snowflake...);
      - Spark (plain parquet tables have no delete or merge): insert_overwrite of the month
        partitions in the batch (spark.sql.sources.partitionOverwriteMode = dynamic, profiles.yml),
        which replaces those months whole and leaves the others untouched. -#}
{% macro clv_day_incremental_strategy() -%}
    {{ return(adapter.dispatch('clv_day_incremental_strategy', 'clv_segments')()) }}
{%- endmacro %}

{% macro default__clv_day_incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__clv_day_incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{#- Spark partitions the day models by month: a partition per day (about 1,100 over three years)
    made each build and each read of them cost minutes in the metastore and the file system. So on
    Spark a run recomputes whole months (every day of each month it touches) and overwrites those
    month partitions; elsewhere the unit stays the day. -#}

{#- The unit a run recomputes, for a day expression: the day itself, or its month on Spark. -#}
{% macro clv_day_batch(day_expression) -%}
    {{ return(adapter.dispatch('clv_day_batch', 'clv_segments')(day_expression)) }}
{%- endmacro %}

{% macro default__clv_day_batch(day_expression) -%}
    {{ day_expression }}
{%- endmacro %}

{% macro spark__clv_day_batch(day_expression) -%}
    cast(date_trunc('MONTH', {{ day_expression }}) as date)
{%- endmacro %}

{#- The partition column a day model adds to its select list (written after its last column,
    comma included): `<day column with _date as _month>` on Spark, nothing elsewhere. -#}
{% macro clv_day_partition_column(day_column) -%}
    {{ return(adapter.dispatch('clv_day_partition_column', 'clv_segments')(day_column)) }}
{%- endmacro %}

{% macro default__clv_day_partition_column(day_column) -%}
{%- endmacro %}

{% macro spark__clv_day_partition_column(day_column) -%}
    , {{ spark__clv_day_batch(day_column) }} as {{ day_column | replace('_date', '_month') }}
{%- endmacro %}

{#- The partition_by config of a day model: its month column on Spark, none elsewhere. -#}
{% macro clv_day_partition_by(day_column) -%}
    {{ return(adapter.dispatch('clv_day_partition_by', 'clv_segments')(day_column)) }}
{%- endmacro %}

{% macro default__clv_day_partition_by(day_column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__clv_day_partition_by(day_column) -%}
    {{ return([day_column | replace('_date', '_month')]) }}
{%- endmacro %}
