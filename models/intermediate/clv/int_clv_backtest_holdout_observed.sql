-- noqa: disable=LT02
-- (LT02, indentation, is left to a hand reflow: see DECISIONLOG "sqlfluff")
-- One row per customer of the calibration data: what they had done by the calibration date (for
-- the naive baselines) and what they actually did in the holdout, the clv_backtest_days after it
-- up to the as-of date. Purchases are counted as the models count them: days with a valid order.
with

calibration_customers as (
    select
        customer_id,
        frequency,
        t_days,
        monetary_value
    from {{ ref('int_clv_backtest_customers_summarized') }}
),

-- the orders as they stood at the calibration date (refunds after it not netted)
before_calibration as (
    select
        customer_id,
        sum(n_valid_orders) as number_of_orders,
        sum(purchase_value) as spend,
        min(ordered_date) as first_order_date,
        max(ordered_date) as last_order_date
    from {{ ref('int_clv_backtest_customer_days') }}
    group by 1
),

-- the holdout as known at the as-of date
purchase_days as (
    select
        customer_id,
        ordered_date,
        purchase_value
    from {{ ref('int_orders_aggregated_to_customer_days') }}
    where n_valid_orders > 0
        and ordered_date <= {{ as_of_date() }}
),

in_holdout as (
    select
        customer_id,
        count(*) as purchases,
        sum(purchase_value) as revenue,
        min(ordered_date) as first_order_date,
        sum(
            case
                when {{ dbt.datediff(calibration_date(), 'ordered_date', 'day') }}
                    <= {{ [var('churn_horizon_days') | int, var('clv_backtest_days') | int] | min }}
                    then 1 else 0
            end
        ) as purchases_in_churn_window
    from purchase_days
    where ordered_date > {{ calibration_date() }}
    group by 1
),

-- Klaviyo's expected date of next order at the calibration date: last order + the customer's
-- average gap between orders, or the account's average gap for one-time buyers
gaps as (
    select
        customer_id,
        cast(
            {{ dbt.datediff('first_order_date', 'last_order_date', 'day') }}
            as {{ type_double() }}
        )
        / nullif(number_of_orders - 1, 0) as average_days_between_orders
    from before_calibration
),

account as (
    select avg(average_days_between_orders) as average_days_between_orders
    from gaps
),

final as (
    select
        calibration_customers.customer_id,
        calibration_customers.frequency,
        calibration_customers.t_days,
        calibration_customers.monetary_value,
        before_calibration.number_of_orders as calibration_number_of_orders,
        before_calibration.spend as calibration_spend,
        before_calibration.last_order_date as calibration_last_order_date,
        cast(
            {{ dbt.dateadd('day',
                'cast(round(coalesce(gaps.average_days_between_orders, account.average_days_between_orders), 0) as '
                ~ dbt.type_int() ~ ')',
                'before_calibration.last_order_date') }}
            as date
        ) as average_gap_next_order_date,
        coalesce(in_holdout.purchases, 0) as holdout_purchases,
        cast(coalesce(in_holdout.revenue, 0) as {{ type_money() }}) as holdout_revenue,
        in_holdout.first_order_date as first_holdout_order_date,
        coalesce(in_holdout.purchases_in_churn_window, 0) = 0 as churned_in_window
    from calibration_customers
    inner join before_calibration
        on calibration_customers.customer_id = before_calibration.customer_id
    inner join gaps
        on calibration_customers.customer_id = gaps.customer_id
    left join in_holdout
        on calibration_customers.customer_id = in_holdout.customer_id
    cross join account
)

select * from final
