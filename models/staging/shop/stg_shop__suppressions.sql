with

suppressions as (
    select * from {{ ref('base_shop__suppressions') }}
    where rejection_reason is null
),

final as (
    select
        customer_id,
        suppressed_at,
        suppression_reason
    from suppressions
)

select * from final
