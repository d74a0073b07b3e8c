-- One row per clean order, net of its refunds, in the reporting currency, with whether it counts as
-- an order (DESIGN.md "Orders that count") and, when it does not, why. The same two figures as they
-- stood at the CLV backtest's calibration date (only the refunds dated by then): a refund in the
-- holdout must not reach the calibration fit.
with

orders as (
    select
        order_id,
        customer_id,
        ordered_at,
        ordered_date,
        amount,
        rate_to_reporting,
        amount_reporting,
        status,
        channel,
        is_subscription
    from {{ ref('stg_shop__orders') }}
),

refunds as (
    select
        order_id,
        sum(amount) as refunded_amount_original,
        sum(case when cast(refunded_at as date) <= {{ calibration_date() }} then amount else 0 end)
            as refunded_by_calibration_original,
        count(*) as n_refunds
    from {{ ref('stg_shop__refunds') }}
    group by 1
),

netted as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.ordered_date,
        {{ days_ago('orders.ordered_at') }} as days_ago,
        orders.status,
        orders.channel,
        orders.is_subscription,
        orders.amount_reporting as gross_amount,
        -- netted in the order's currency, then converted once, so rounding cannot push it below 0
        orders.amount_reporting
        - {{ round_money(money_times_rate(
            'orders.amount - coalesce(refunds.refunded_amount_original, 0)', 'orders.rate_to_reporting'
        )) }}
            as refunded_amount,
        coalesce(refunds.n_refunds, 0) as n_refunds,
        {{ round_money(money_times_rate(
            'orders.amount - coalesce(refunds.refunded_amount_original, 0)', 'orders.rate_to_reporting'
        )) }} as net_amount,
        {{ round_money(money_times_rate(
            'orders.amount - coalesce(refunds.refunded_by_calibration_original, 0)', 'orders.rate_to_reporting'
        )) }} as net_amount_at_calibration
    from orders
    left join refunds
        on orders.order_id = refunds.order_id
),

final as (
    select
        netted.*,
        {{ order_exclusion_reason('net_amount') }} as exclusion_reason,
        {{ order_exclusion_reason('net_amount_at_calibration') }} is null
            as is_valid_order_at_calibration
    from netted
)

select
    final.*,
    final.exclusion_reason is null as is_valid_order
from final
