-- One row per readiness check of the CLV model (Klaviyo's prerequisites, seed 002), with the value
-- observed and the threshold (a var). When one fails, predictive fields are null and the build warns.
with

history as (
    select
        customer_id,
        historic_number_of_orders,
        first_order_at,
        last_order_at
    from {{ ref('int_orders_aggregated_to_customers') }}
    where has_valid_order
),

observed as (
    select
        count(*) as customers_with_valid_order,
        coalesce({{ days_ago('min(first_order_at)') }}, 0) as history_days,
        {{ days_ago('max(last_order_at)') }} as days_since_latest_order,
        sum(case when historic_number_of_orders >= 3 then 1 else 0 end) as customers_with_3_orders
    from history
),

checks as (
    select
        'customers_with_valid_order' as check_name,
        'at least clv_min_customers_with_orders customers with a valid order' as rule,
        cast(customers_with_valid_order as {{ type_double() }}) as observed_value,
        {{ var('clv_min_customers_with_orders') }} as threshold,
        customers_with_valid_order >= {{ var('clv_min_customers_with_orders') }} as passed
    from observed
    union all
    select
        'history_days',
        'at least clv_min_history_days days between the first valid order and the as-of date',
        cast(history_days as {{ type_double() }}),
        {{ var('clv_min_history_days') }},
        history_days >= {{ var('clv_min_history_days') }}
    from observed
    union all
    select
        'recent_order',
        'a valid order within the last clv_max_days_since_last_order days',
        cast(days_since_latest_order as {{ type_double() }}),
        {{ var('clv_max_days_since_last_order') }},
        coalesce(days_since_latest_order < {{ var('clv_max_days_since_last_order') }}, false)
    from observed
    union all
    select
        'customers_with_3_orders',
        'at least clv_min_customers_with_3_orders customers with 3 or more valid orders',
        cast(customers_with_3_orders as {{ type_double() }}),
        {{ var('clv_min_customers_with_3_orders') }},
        coalesce(customers_with_3_orders, 0) >= {{ var('clv_min_customers_with_3_orders') }}
    from observed
),

final as (
    select
        check_name,
        rule,
        observed_value,
        cast(threshold as {{ type_double() }}) as threshold,
        passed
    from checks
)

select * from final
