-- One row per published as-of date, figure and subject (marts.run_figures of each published
-- run): what the circuit breakers of the next run compare with. Keyed by as_of_date: a rerun
-- replaces its date's figures.
with

published as (
    select
        as_of_date,
        figure,
        subject,
        value
    from {{ source('published_history', 'run_figures_history') }}
    where as_of_date < {{ as_of_date() }}
),

this_run as (
    select
        as_of_date,
        figure,
        subject,
        value
    from {{ ref('run_figures') }}
),

final as (
    select * from published
    union all
    select * from this_run
)

select * from final
