-- One row per customer and UTC day with a valid order up to the backtest's calibration date, as the
-- orders stood then: net of the refunds dated by the calibration date only, so a refund in the
-- holdout cannot reach the calibration fit. The calibration side of the backtest reads these days
-- where the current fit reads int_orders_aggregated_to_customer_days.
with

orders as (
    select
        customer_id,
        ordered_date,
        net_amount_at_calibration,
        is_valid_order_at_calibration
    from {{ ref('int_orders_netted') }}
    where
        ordered_date <= {{ calibration_date() }}
        and is_valid_order_at_calibration
),

final as (
    select
        customer_id,
        ordered_date,
        count(*) as n_valid_orders,
        cast(sum(net_amount_at_calibration) as {{ type_money() }}) as purchase_value
    from orders
    group by 1, 2
)

select * from final
