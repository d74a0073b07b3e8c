{#-
    The CLV model's readiness checks (Klaviyo's prerequisites, seed 002) as of a clock: one row per
    check with the rule, the value observed, the threshold (a var) and whether it passed. Read from
    the valid-order days up to the clock, so the backtest can ask the same questions at its
    calibration date. Used by int_clv_readiness_checked and int_clv_backtest_readiness_checked;
    `customer_days` names the valid-order days to read (see clv_summarize_to_rft).
-#}
{% macro clv_readiness_checks(clock, customer_days='int_orders_aggregated_to_customer_days') -%}
with

history as (
    select
        customer_id,
        sum(n_valid_orders) as number_of_orders,
        min(ordered_date) as first_order_date,
        max(ordered_date) as last_order_date
    from {{ ref(customer_days) }}
    where n_valid_orders > 0
        and ordered_date <= {{ clock }}
    group by 1
),

observed as (
    select
        count(*) as customers_with_valid_order,
        coalesce({{ days_ago('min(first_order_date)', clock) }}, 0) as history_days,
        {{ days_ago('max(last_order_date)', clock) }} as days_since_latest_order,
        sum(case when number_of_orders >= 3 then 1 else 0 end) as customers_with_3_orders
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
        'at least clv_min_history_days days between the first valid order and the clock',
        cast(history_days as {{ type_double() }}),
        {{ var('clv_min_history_days') }},
        history_days >= {{ var('clv_min_history_days') }}
    from observed
    union all
    select
        'recent_order',
        'a valid order within the last clv_max_days_since_last_order days before the clock',
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
{%- endmacro %}
