with

customers as (
    select * from {{ ref('base_shop__customers') }}
    where rejection_reason is null
),

final as (
    select
        customer_id,
        email,
        email is not null as has_email,
        created_at,
        country_code,
        region,
        city,
        coalesce(accepts_marketing, false) as accepts_marketing
    from customers
)

select * from final
