-- The circuit breakers on the raw input, one row per check and subject: what `clv-segments run`
-- audits right after staging, before it builds anything else (README "Circuit breakers"). A
-- breach here stops the run there: nothing past staging is computed from input that failed.
-- circuit_breakers holds these rows too, with the checks on what the build computed.
--   rejected_share     rejected rows / raw rows of a raw table > breaker_max_rejected_share (rows
--                      rejected for a reason in breaker_rejected_share_ignores do not count)
--   drop               clean rows of a raw table, or valid orders, fell by more than
--                      breaker_max_drop_share since the last published run
--   min_valid_orders   fewer valid orders than breaker_min_valid_orders
with

figures as (
    {{ input_figures() }}
),

previous_figures as (
    {{ previous_published_figures() }}
),

-- rows after the as-of date are the clock at work, not damage (a backtest, a past as-of date):
-- the reasons in var breaker_rejected_share_ignores do not count towards the rejected share
counted_rejections as (
    select
        source_table,
        rejection_reason
    from {{ ref('rejected_rows') }}
    where rejection_reason not in ({{ clv_sql_list(var('breaker_rejected_share_ignores') or []) }})
),

rejected_per_table as (
    select
        source_table,
        count(*) as rejected_rows
    from counted_rejections
    group by 1
),

top_rejection_reasons as (
    select
        source_table,
        rejection_reason,
        count(*) as rejected_rows,
        row_number()
            over (partition by source_table order by count(*) desc, rejection_reason)
            as reason_rank
    from counted_rejections
    group by 1, 2
),

rejected_share as (
    select
        'rejected_share' as check_name,
        raw_rows.subject,
        coalesce(rejected.rejected_rows, 0) / raw_rows.value as figure_value,
        cast(null as {{ type_double() }}) as previous_value,
        cast({{ var('breaker_max_rejected_share') }} as {{ type_double() }}) as threshold,
        'breaker_max_rejected_share' as var_name,
        coalesce(rejected.rejected_rows, 0) / raw_rows.value
        > {{ var('breaker_max_rejected_share') }} as is_breach,
        {{ dbt.concat([
            "'marts.rejected_rows where source_table = '''",
            "raw_rows.subject",
            "''' (top reason: '",
            "coalesce(top_rejection_reasons.rejection_reason, 'none')",
            "', '",
            "coalesce(cast(top_rejection_reasons.rejected_rows as " ~ dbt.type_string() ~ "), '0')",
            "' rows)'",
        ]) }} as look_at
    from figures as raw_rows
    left join rejected_per_table as rejected
        on raw_rows.subject = rejected.source_table
    left join top_rejection_reasons
        on
            raw_rows.subject = top_rejection_reasons.source_table
            and top_rejection_reasons.reason_rank = 1
    where
        raw_rows.figure = 'raw_rows'
        and raw_rows.value > 0
),

drops as (
    {{ breaker_drops('figures', 'previous_figures', ['clean_rows', 'valid_orders']) }}
),

min_valid_orders as (
    select
        'min_valid_orders' as check_name,
        'all' as subject,
        value as figure_value,
        cast(null as {{ type_double() }}) as previous_value,
        cast({{ var('breaker_min_valid_orders') }} as {{ type_double() }}) as threshold,
        'breaker_min_valid_orders' as var_name,
        value < {{ var('breaker_min_valid_orders') }} as is_breach,
        'marts.raw_row_reconciliation and marts.rejected_rows where source_table = ''orders'''
            as look_at
    from figures
    where figure = 'valid_orders'
),

checks as (
    select * from rejected_share
    union all
    select * from drops
    union all
    select * from min_valid_orders
),

final as (
    {{ breaker_columns('checks') }}
)

select * from final
