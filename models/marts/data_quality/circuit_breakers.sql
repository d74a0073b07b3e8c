-- One row per circuit breaker and subject: every check `clv-segments run` audits before it
-- publishes, each with its figure, its threshold and the var that sets it (README "Circuit
-- breakers"). A breach stops the publish unless the var accept_breakers names it ('check' or
-- 'check:subject'), which the run log records. "Previous" is the last published run.
-- The checks on the raw input (rejected_share, drop of clean rows and valid orders,
-- min_valid_orders) come from input_circuit_breakers, which the run audits first; these are
-- the checks on what the build computed:
--   drop               total historic CLV fell by more than breaker_max_drop_share since the
--                      last published run
--   readiness_lost     the CLV model was ready at the last published run and is not now
--                      (breaker_readiness_lost: true enforces it)
--   segment_churn      (entries + exits) / members at the previous as-of date of a segment >
--                      breaker_max_segment_churn, for segments of at least
--                      breaker_segment_churn_min_members members
with

figures as (
    select
        figure,
        subject,
        value
    from {{ ref('run_figures') }}
),

previous_figures as (
    {{ previous_published_figures() }}
),

drops as (
    {{ breaker_drops('figures', 'previous_figures', ['total_historic_clv']) }}
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
    select * from drops
    union all
    select * from readiness_lost
    union all
    select * from segment_churn
),

final as (
    select
        check_name,
        subject,
        figure_value,
        previous_value,
        threshold,
        var_name,
        is_breach,
        is_accepted,
        look_at,
        as_of_date
    from {{ ref('input_circuit_breakers') }}
    union all
    {{ breaker_columns('checks') }}
)

select * from final
