-- One row per customer: whether marketing email may be sent to them as of the as-of date.
-- emailable = has an email, is a current member of the var newsletter_list_id list, is not suppressed.
with

customers as (
    select
        customer_id,
        email,
        has_email
    from {{ ref('stg_shop__customers') }}
),

newsletter_members as (
    select distinct customer_id
    from {{ ref('stg_shop__list_memberships') }}
    where
        list_id = '{{ var("newsletter_list_id") }}'
        and is_current_member
),

suppressed as (
    select distinct customer_id
    from {{ ref('stg_shop__suppressions') }}
),

final as (
    select
        customers.customer_id,
        customers.email,
        customers.has_email,
        newsletter_members.customer_id is not null as is_newsletter_member,
        suppressed.customer_id is not null as is_suppressed,
        customers.has_email
        and newsletter_members.customer_id is not null
        and suppressed.customer_id is null as is_emailable
    from customers
    left join newsletter_members
        on customers.customer_id = newsletter_members.customer_id
    left join suppressed
        on customers.customer_id = suppressed.customer_id
)

select * from final
