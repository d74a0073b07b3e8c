with

refunds as (
    select * from {{ ref('base_shop__refunds') }}
    where rejection_reason is null
),

final as (
    select
        refund_id,
        order_id,
        refunded_at,
        amount,
        amount_reporting
    from refunds
)

select * from final
