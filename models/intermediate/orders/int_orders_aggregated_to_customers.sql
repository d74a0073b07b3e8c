-- One row per customer (all clean customers, buyers or not): the order history Klaviyo shows
-- without a model (DESIGN.md "Per-customer history"), over valid orders up to the as-of date.
with

customers as (
    select customer_id from {{ ref('stg_shop__customers') }}
),

valid_orders as (
    select
        customer_id,
        ordered_at,
        ordered_date,
        net_amount
    from {{ ref('int_orders_netted') }}
    where is_valid_order
),

aggregated as (
    select
        customer_id,
        sum(net_amount) as historic_clv,
        count(*) as historic_number_of_orders,
        count(distinct ordered_date) as historic_number_of_order_days,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from valid_orders
    group by 1
),

final as (
    select
        customers.customer_id,
        cast(coalesce(aggregated.historic_clv, 0) as {{ type_money() }}) as historic_clv,
        coalesce(aggregated.historic_number_of_orders, 0) as historic_number_of_orders,
        coalesce(aggregated.historic_number_of_order_days, 0) as historic_number_of_order_days,
        -- unrounded: tiers and personas compare it with their thresholds (400.01 / 4 = 100.0025 > 100)
        {{ divide_money('aggregated.historic_clv', 'aggregated.historic_number_of_orders') }} as average_order_value,
        cast(
            {{ dbt.datediff(
                'cast(aggregated.first_order_at as date)', 'cast(aggregated.last_order_at as date)', 'day'
            ) }}
            as {{ type_double() }}
        ) / nullif(aggregated.historic_number_of_orders - 1, 0) as average_days_between_orders,
        aggregated.first_order_at,
        aggregated.last_order_at,
        {{ days_ago('aggregated.last_order_at') }} as days_since_last_order,
        aggregated.customer_id is not null as has_valid_order
    from customers
    left join aggregated
        on customers.customer_id = aggregated.customer_id
)

select * from final
