-- One row per model and parameter of the current fit (the chosen purchase model and Gamma-Gamma):
-- estimate and standard error.
with

fit as (
    select * from {{ ref('clv_model_fit') }}
),

final as (
    select
        model_name,
        metric as parameter_name,
        cast(value as {{ type_double() }}) as estimate,
        cast(std_error as {{ type_double() }}) as std_error,
        {{ as_of_date() }} as as_of_date
    from fit
    where
        (model_name in ('bgnbd', 'mbgnbd') and metric in ('r', 'alpha', 'a', 'b'))
        or (model_name = 'pareto_nbd' and metric in ('r', 'alpha', 's', 'beta'))
        or (model_name = 'gamma_gamma' and metric in ('p', 'q', 'v'))
)

select * from final
