-- One row per customer and segment they belong to as of the as-of date, with whether the customer
-- may be emailed: an email audience is "segment and emailable", an ads audience drops that.
with

memberships as (
    select
        segment_name,
        segment_kind,
        customer_id
    from {{ ref('int_customers_segmented') }}
),

emailability as (
    select
        customer_id,
        is_emailable
    from {{ ref('int_customers_emailability_flagged') }}
),

final as (
    select
        memberships.segment_name,
        memberships.segment_kind,
        memberships.customer_id,
        emailability.is_emailable,
        {{ as_of_date() }} as as_of_date
    from memberships
    inner join emailability
        on memberships.customer_id = emailability.customer_id
)

select * from final
