-- One row per circuit breaker and subject: the checks `clv-segments run` audits before it
-- publishes, each with its figure, its threshold and the var that sets it (README "Circuit
-- breakers"). A breach stops the publish unless the var accept_breakers names it ('check' or
-- 'check:subject'), which the run log records. "Previous" is the last published run.
--   rejected_share     rejected rows / raw rows of a raw table > breaker_max_rejected_share (rows
--                      rejected for a reason in breaker_rejected_share_ignores do not count)
--   drop               a figure fell by more than breaker_max_drop_share since the last published
--                      run: clean rows of each raw table, valid orders, total historic CLV
--   min_valid_orders   fewer valid orders than breaker_min_valid_orders
--   readiness_lost     the CLV model was ready at the last published run and is not now
--                      (breaker_readiness_lost: true enforces it)
--   segment_churn      (entries + exits) / members at the previous as-of date of a segment >
--                      breaker_max_segment_churn, for segments of at least
--                      breaker_segment_churn_min_members members
{%- set accepted = var('accept_breakers') or [] %}
with

figures as (
    select
        figure,
        subject,
        value
    from {{ ref('run_figures') }}
),

published_figures as (
    select
        as_of_date,
        figure,
        subject,
        value
    from {{ source('published_history', 'run_figures_history') }}
),

last_published as (
    select max(as_of_date) as as_of_date from published_figures
),

previous_figures as (
    select
        published_figures.figure,
        published_figures.subject,
        published_figures.value
    from published_figures
    inner join last_published
        on published_figures.as_of_date = last_published.as_of_date
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
    select
        'drop' as check_name,
        {{ dbt.concat(["figures.figure", "':'", "figures.subject"]) }} as subject,
        (previous_figures.value - figures.value) / previous_figures.value as figure_value,
        previous_figures.value as previous_value,
        cast({{ var('breaker_max_drop_share') }} as {{ type_double() }}) as threshold,
        'breaker_max_drop_share' as var_name,
        (previous_figures.value - figures.value) / previous_figures.value
        > {{ var('breaker_max_drop_share') }}
            as is_breach,
        {{ dbt.concat([
            "'marts.run_figures against history.run_figures_history (was '",
            "cast(previous_figures.value as " ~ dbt.type_string() ~ ")",
            "', now '",
            "cast(figures.value as " ~ dbt.type_string() ~ ")",
            "')'",
        ]) }} as look_at
    from figures
    inner join previous_figures
        on
            figures.figure = previous_figures.figure
            and figures.subject = previous_figures.subject
    where
        figures.figure in ('clean_rows', 'valid_orders', 'total_historic_clv')
        and previous_figures.value > 0
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

readiness_lost as (
    select
        'readiness_lost' as check_name,
        'all' as subject,
        figures.value as figure_value,
        previous_figures.value as previous_value,
        cast(1 as {{ type_double() }}) as threshold,
        'breaker_readiness_lost' as var_name,
        {{ 'true' if var('breaker_readiness_lost') else 'false' }}
        and previous_figures.value = 1 and figures.value = 0 as is_breach,
        'marts.clv_model_diagnostics (failed_readiness_checks)' as look_at
    from figures
    inner join previous_figures
        on
            figures.figure = previous_figures.figure
            and figures.subject = previous_figures.subject
    where figures.figure = 'is_clv_ready'
),

segment_changes as (
    select
        members.subject as segment_name,
        entered.value + exited.value as changes,
        members.value - entered.value + exited.value as previous_members
    from figures as members
    inner join figures as entered
        on
            members.subject = entered.subject
            and entered.figure = 'segment_entered'
    inner join figures as exited
        on
            members.subject = exited.subject
            and exited.figure = 'segment_left'
    where members.figure = 'segment_members'
),

segment_churn as (
    select
        'segment_churn' as check_name,
        segment_name as subject,
        changes / previous_members as figure_value,
        previous_members as previous_value,
        cast({{ var('breaker_max_segment_churn') }} as {{ type_double() }}) as threshold,
        'breaker_max_segment_churn' as var_name,
        changes / previous_members > {{ var('breaker_max_segment_churn') }} as is_breach,
        {{ dbt.concat([
            "'marts.segment_membership_changes where segment_name = '''",
            "segment_name",
            "''''",
        ]) }} as look_at
    from segment_changes
    where previous_members >= {{ var('breaker_segment_churn_min_members') }}
),

checks as (
    select * from rejected_share
    union all
    select * from drops
    union all
    select * from min_valid_orders
    union all
    select * from readiness_lost
    union all
    select * from segment_churn
),

final as (
    select
        cast(check_name as {{ dbt.type_string() }}) as check_name,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(figure_value as {{ type_double() }}) as figure_value,
        cast(previous_value as {{ type_double() }}) as previous_value,
        threshold,
        cast(var_name as {{ dbt.type_string() }}) as var_name,
        coalesce(is_breach, false) as is_breach,
        coalesce(is_breach, false) and (
            check_name in ({{ clv_sql_list(accepted) }})
            or {{ dbt.concat(["check_name", "':'", "subject"]) }} in ({{ clv_sql_list(accepted) }})
        ) as is_accepted,
        cast(look_at as {{ dbt.type_string() }}) as look_at,
        {{ as_of_date() }} as as_of_date
    from checks
)

select * from final
