with

list_memberships as (
    select * from {{ ref('base_shop__list_memberships') }}
    where rejection_reason is null
),

final as (
    select
        list_id,
        customer_id,
        subscribed_at,
        unsubscribed_at,
        unsubscribed_at is null as is_current_member
    from list_memberships
)

select * from final
