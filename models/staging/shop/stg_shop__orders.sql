with

orders as (
    select * from {{ ref('base_shop__orders') }}
    where rejection_reason is null
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        cast(ordered_at as date) as ordered_date,
        currency_code,
        amount,
        rate_to_reporting,
        amount_reporting,
        status,
        channel,
        is_subscription
    from orders
)

select * from final
