-- One row per as-of date and customer whose RFM group changed on that date (or who got one for the
-- first time): the group and scores from then on. Append-only, keyed by as_of_date, computed
-- against the published history before this run's as-of date (see segment_membership_history).
with

published as (
    select
        as_of_date,
        customer_id,
        rfm_group,
        rfm_score
    from {{ source('published_history', 'rfm_group_history') }}
    where as_of_date < {{ as_of_date() }}
),

current_groups as (
    select
        customer_id,
        rfm_group,
        rfm_score
    from {{ ref('int_customers_rfm_scored') }}
    where rfm_group is not null
),

latest_groups as (
    select
        customer_id,
        rfm_group,
        row_number() over (partition by customer_id order by as_of_date desc) as changes_back
    from published
),

changed as (
    select
        current_groups.customer_id,
        current_groups.rfm_group,
        current_groups.rfm_score
    from current_groups
    left join latest_groups
        on
            current_groups.customer_id = latest_groups.customer_id
            and latest_groups.changes_back = 1
    where
        latest_groups.rfm_group is null
        or latest_groups.rfm_group <> current_groups.rfm_group
),

final as (
    select
        as_of_date,
        customer_id,
        rfm_group,
        rfm_score
    from published
    union all
    select
        {{ as_of_date() }} as as_of_date,
        customer_id,
        rfm_group,
        rfm_score
    from changed
)

select * from final
