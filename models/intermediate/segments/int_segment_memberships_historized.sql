-- One row per segment, customer and stint of membership, from the change log
-- history.segment_membership_history: valid from the as-of date that saw the customer enter, to
-- the as-of date that saw them leave (null while the stint lasts). A customer is taken to be in
-- the segment on a day d when valid_from <= d < valid_to: between two runs, membership is what
-- the earlier run saw.
with

changes as (
    select
        as_of_date,
        segment_name,
        segment_kind,
        customer_id,
        change_type
    from {{ ref('segment_membership_history') }}
),

ordered as (
    select
        as_of_date,
        segment_name,
        segment_kind,
        customer_id,
        change_type,
        lead(as_of_date) over (
            partition by segment_name, customer_id
            order by as_of_date
        ) as next_change_date
    from changes
),

final as (
    select
        segment_name,
        segment_kind,
        customer_id,
        as_of_date as valid_from,
        next_change_date as valid_to
    from ordered
    where change_type = 'entered'
)

select * from final
