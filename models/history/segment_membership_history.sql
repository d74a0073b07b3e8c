-- One row per as-of date, segment and customer whose membership changed on that date: 'entered'
-- (a member now, not at the previous as-of date) or 'left' (the reverse). An append-only change
-- log keyed by as_of_date: this run's rows are computed against the published history before its
-- as-of date and replace any rows of the same date, so a rerun is idempotent and a later date's
-- rows (only a backfill re-runs an earlier date) are recomputed by the runs that follow. No merge.
with

published as (
    select
        as_of_date,
        segment_name,
        segment_kind,
        customer_id,
        change_type
    from {{ source('published_history', 'segment_membership_history') }}
    where as_of_date < {{ as_of_date() }}
),

current_members as (
    select
        segment_name,
        segment_kind,
        customer_id
    from {{ ref('int_customers_segmented') }}
),

-- the last change of each (segment, customer) before this as-of date says whether they were in
latest_changes as (
    select
        segment_name,
        segment_kind,
        customer_id,
        change_type,
        row_number() over (
            partition by segment_name, customer_id
            order by as_of_date desc
        ) as changes_back
    from published
),

previous_members as (
    select
        segment_name,
        segment_kind,
        customer_id
    from latest_changes
    where
        changes_back = 1
        and change_type = 'entered'
),

entered as (
    select
        current_members.segment_name,
        current_members.segment_kind,
        current_members.customer_id,
        'entered' as change_type
    from current_members
    left join previous_members
        on
            current_members.segment_name = previous_members.segment_name
            and current_members.customer_id = previous_members.customer_id
    where previous_members.customer_id is null
),

exited as (
    select
        previous_members.segment_name,
        previous_members.segment_kind,
        previous_members.customer_id,
        'left' as change_type
    from previous_members
    left join current_members
        on
            previous_members.segment_name = current_members.segment_name
            and previous_members.customer_id = current_members.customer_id
    where current_members.customer_id is null
),

this_run as (
    select * from entered
    union all
    select * from exited
),

final as (
    select
        as_of_date,
        segment_name,
        segment_kind,
        customer_id,
        change_type
    from published
    union all
    select
        {{ as_of_date() }} as as_of_date,
        segment_name,
        segment_kind,
        customer_id,
        change_type
    from this_run
)

select * from final
