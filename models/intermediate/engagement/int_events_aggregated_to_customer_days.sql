{{ config(
    materialized='incremental',
    unique_key=['customer_id', 'occurred_date', 'event_type'],
    incremental_strategy=clv_day_incremental_strategy(),
    partition_by=clv_day_partition_by('occurred_date'),
    on_schema_change='fail',
) }}
-- One row per customer, UTC day and event type: the day's events and, for opens, how many were
-- machine opens (so var count_machine_opens applies downstream without a rebuild). Incremental: a
-- run recomputes the days from the watermark (latest day loaded) minus var
-- incremental_lookback_days (on Spark: from the first day of that day's month, whole months being
-- its partitions), so appended events give the same table as a full refresh; events that
-- arrive later than that need `dbt build --full-refresh`.
-- With var engagement_day_hash_partitions > 1 the aggregate runs once per hash bucket of the
-- customer (a union of group-bys, each holding that share of the groups): at 10 M customers the
-- events barely aggregate (511 M groups) and one group-by runs out of DuckDB's memory.
{%- set hash_partitions = var('engagement_day_hash_partitions') | int %}
with

events as {{ inline_cte() }} (
    select
        customer_id,
        occurred_date,
        event_type,
        is_machine_open
    from {{ ref('stg_shop__events') }}
    {% if is_incremental() %}
    where {{ clv_day_batch('occurred_date') }} >= (
        select {{ clv_day_batch(dbt.dateadd('day', -1 * var('incremental_lookback_days'), 'max(occurred_date)')) }}
        from {{ this }}
    )
    {% endif %}
),

final as (
    {%- for bucket in range(hash_partitions) %}
        {%- if not loop.first %}
        union all
        {%- endif %}
        select
            customer_id,
            occurred_date,
            event_type,
            count(*) as n_events,
            sum(case when coalesce(is_machine_open, false) then 1 else 0 end) as n_machine_opens
            {{ clv_day_partition_column('occurred_date') }}  -- noqa: LT02
        from events
        {%- if hash_partitions > 1 %}
            where {{ clv_hash_bucket('customer_id', hash_partitions) }} = {{ bucket }}
        {%- endif %}
        group by 1, 2, 3
    {%- endfor %}
)

select * from final
