-- One row per segment, customer and change of membership (entered or left), from the snapshot of
-- segment memberships: who entered and left each segment, and when (the as-of date of the first
-- run that saw the change). The first run records every member as entering on its as-of date.
with

stints as (
    select
        segment_name,
        segment_kind,
        customer_id,
        dbt_valid_from,
        dbt_valid_to
    from {{ ref('segment_membership_snapshot') }}
),

entries as (
    select
        segment_name,
        segment_kind,
        customer_id,
        'entered' as change_type,
        dbt_valid_from as changed_at
    from stints
),

exits as (
    select
        segment_name,
        segment_kind,
        customer_id,
        'left' as change_type,
        dbt_valid_to as changed_at
    from stints
    where dbt_valid_to is not null
),

final as (
    select
        segment_name,
        segment_kind,
        customer_id,
        change_type,
        cast(changed_at as {{ api.Column.translate_type('timestamp') }}) as changed_at,
        {{ as_of_date() }} as as_of_date
    from entries
    union all
    select
        segment_name,
        segment_kind,
        customer_id,
        change_type,
        cast(changed_at as {{ api.Column.translate_type('timestamp') }}) as changed_at,
        {{ as_of_date() }} as as_of_date
    from exits
)

select * from final
