with

events as (
    select * from {{ ref('base_shop__events') }}
    where rejection_reason is null
),

final as (
    select
        event_id,
        customer_id,
        event_type,
        occurred_at,
        cast(occurred_at as date) as occurred_date,
        campaign_id,
        is_machine_open
    from events
)

select * from final
