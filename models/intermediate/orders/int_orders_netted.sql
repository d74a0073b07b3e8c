-- One row per clean order, net of its refunds, in the reporting currency, with whether it counts as
-- an order (DESIGN.md "Orders that count") and, when it does not, why.
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
        orders.amount_reporting - {{ round_money(money_times_rate('orders.amount - coalesce(refunds.refunded_amount_original, 0)', 'orders.rate_to_reporting')) }}
            as refunded_amount,
        coalesce(refunds.n_refunds, 0) as n_refunds,
        {{ round_money(money_times_rate('orders.amount - coalesce(refunds.refunded_amount_original, 0)', 'orders.rate_to_reporting')) }}
            as net_amount
    from orders
    left join refunds
        on orders.order_id = refunds.order_id
),

final as (
    select
        netted.*,
        case
            when status = 'cancelled' then 'cancelled'
            {% if var('include_zero_value_orders') -%}
            when gross_amount = 0 then null  -- counts (var include_zero_value_orders)
            {% else -%}
            when gross_amount = 0 then 'zero_value'
            {% endif -%}
            when net_amount <= 0 then 'fully_refunded'
            {% if not var('include_pos_orders') -%}
            when channel = 'pos' then 'pos_excluded'
            {% endif -%}
            {% if not var('include_subscription_orders') -%}
            when is_subscription then 'subscription_excluded'
            {% endif -%}
        end as exclusion_reason
    from netted
)

select
    final.*,
    exclusion_reason is null as is_valid_order
from final
