{{ config(
    materialized='incremental',
    unique_key=['customer_id', 'ordered_date'],
    incremental_strategy=clv_day_incremental_strategy(),
    partition_by=clv_day_partition_by('ordered_date'),
    on_schema_change='fail',
) }}
-- One row per customer and UTC day with a clean order: the day's valid orders and their net value
-- (a BG/NBD purchase occasion when n_valid_orders > 0). Incremental: a run recomputes the days from
-- the watermark (latest day loaded) minus var incremental_lookback_days, plus every day of an order
-- refunded in that span, so appended orders and refunds give the same table as a full refresh.
-- A recomputed day is recomputed whole (every customer's orders that day; on Spark every day of
-- its month), so that replacing it, by key (delete+insert) or by month partition
-- (insert_overwrite on Spark, macros/cross_db/incremental.sql), loses no row.
-- Days that no longer hold a valid order stay with n_valid_orders = 0, so a recomputed day always
-- replaces its old row. Changing include_pos_orders / include_subscription_orders or editing old
-- raw orders needs `dbt build --full-refresh`.
-- refunds are read only by an incremental run: the hint keeps the dependency in every run
-- depends_on: {{ ref('stg_shop__refunds') }}
with

orders as (
    select
        order_id,
        customer_id,
        ordered_date,
        net_amount,
        is_valid_order
    from {{ ref('int_orders_netted') }}
),

{% if is_incremental() %}
refunds as (
    select
        order_id,
        refunded_at
    from {{ ref('stg_shop__refunds') }}
),

watermark as (
    select {{ dbt.dateadd('day', -1 * var('incremental_lookback_days'), 'max(ordered_date)') }} as since
    from {{ this }}
),

refunded_orders as (
    select distinct refunds.order_id
    from refunds
    cross join watermark
    where cast(refunds.refunded_at as date) >= watermark.since
),

affected_batches as (
    select distinct {{ clv_day_batch('orders.ordered_date') }} as batch
    from orders
    cross join watermark
    left join refunded_orders
        on orders.order_id = refunded_orders.order_id
    where orders.ordered_date >= watermark.since
        or refunded_orders.order_id is not null
),

orders_to_aggregate as (
    select orders.*
    from orders
    inner join affected_batches
        on {{ clv_day_batch('orders.ordered_date') }} = affected_batches.batch
),
{% else %}
    orders_to_aggregate as (
        select * from orders
    ),
{% endif %}

final as (
    select
        customer_id,
        ordered_date,
        sum(case when is_valid_order then 1 else 0 end) as n_valid_orders,
        cast(coalesce(sum(case when is_valid_order then net_amount end), 0) as {{ type_money() }})
            as purchase_value
        {{ clv_day_partition_column('ordered_date') }}  -- noqa: LT02
    from orders_to_aggregate
    group by 1, 2
)

select * from final
