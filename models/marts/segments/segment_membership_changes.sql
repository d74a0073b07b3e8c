-- One row per segment, customer and change of membership (entered or left), from the membership
-- history (history.segment_membership_history): who entered and left each segment, and when (the
-- as-of date of the first published run that saw the change). The first run records every member
-- as entering on its as-of date; `clv-segments backfill` writes earlier dates.
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

final as (
    select
        segment_name,
        segment_kind,
        customer_id,
        change_type,
        cast(as_of_date as {{ api.Column.translate_type('timestamp') }}) as changed_at,
        {{ as_of_date() }} as as_of_date
    from changes
)

select * from final
