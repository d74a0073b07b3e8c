-- One row per published as-of date: which run published it (var run_id if set, else the env var
-- CLV_RUN_ID that `clv-segments run` sets, else dbt's invocation id), whether it was a normal run
-- or the last step of a backfill, when it started (wall clock, for the record only: no rule reads
-- it) and the circuit breakers it was told to accept, with their figures. A rerun replaces its
-- date's row. CLV_RUN_ID is read when the model runs, not when dbt parses it (`if execute`): a
-- new id each run would otherwise make dbt re-parse the project every run.
{%- set run_id = var("run_id", none) or (env_var("CLV_RUN_ID", "") if execute) or invocation_id %}

with

published as (
    select
        as_of_date,
        run_id,
        run_kind,
        run_started_at,
        accepted_breakers
    from {{ source('published_history', 'run_log') }}
    where as_of_date < {{ as_of_date() }}
),

accepted as (
    select
        {{ clv_string_agg(dbt.concat([
            "check_name", "':'", "subject", "'='",
            "cast(round(figure_value, 4) as " ~ dbt.type_string() ~ ")",
        ]), "', '") }} as accepted_breakers
    from {{ ref('circuit_breakers') }}
    where is_accepted
),

this_run as (
    select
        {{ as_of_date() }} as as_of_date,
        cast('{{ run_id }}' as {{ dbt.type_string() }}) as run_id,
        cast('{{ var("run_kind") }}' as {{ dbt.type_string() }}) as run_kind,
        cast(
            '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ api.Column.translate_type('timestamp') }}
        )
            as run_started_at,
        accepted.accepted_breakers
    from accepted
),

final as (
    select * from published
    union all
    select * from this_run
)

select * from final
