-- One row per fit and model: the "current model card" of Klaviyo's CLV dashboard (seed 002) and
-- more. fit_scope 'current' is the fit the predictions use (the chosen purchase model and
-- Gamma-Gamma, as of the as-of date); 'backtest' are the candidates fitted at the calibration date
-- (as_of_date - clv_backtest_days), with their holdout Poisson deviance and which one was chosen.
-- Each row: status, parameters with standard errors, log-likelihood, convergence, sizes, fit time,
-- the readiness checks at that clock with their values, the as-of date and the windows.
{%- set parameters = ['r', 'alpha', 'a', 'b', 's', 'beta', 'p', 'q', 'v'] %}
{%- set metrics = ['log_likelihood', 'penalizer', 'fit_seconds', 'n_cells', 'n_customers',
                   'n_customers_fitted', 'frequency_spend_correlation'] %}

with

fit as (
    select
        'current' as fit_scope,
        clv_model_fit.*
    from {{ ref('clv_model_fit') }} as clv_model_fit
    union all
    select
        'backtest' as fit_scope,
        clv_backtest_fit.*
    from {{ ref('clv_backtest_fit') }} as clv_backtest_fit
),

readiness as (
    select
        'current' as fit_scope,
        current_checks.*
    from {{ ref('int_clv_readiness_checked') }} as current_checks
    union all
    select
        'backtest' as fit_scope,
        backtest_checks.*
    from {{ ref('int_clv_backtest_readiness_checked') }} as backtest_checks
),

chosen as (
    select * from {{ ref('int_clv_model_chosen') }}
),

deviances as (
    select
        model,
        value as holdout_poisson_deviance
    from {{ ref('int_clv_backtest_metrics') }}
    where
        model_kind = 'model'
        and metric = 'poisson_deviance'
),

readiness_summary as (
    select
        fit_scope,
        min(case when passed then 1 else 0 end) = 1 as is_ready,
        {{ clv_string_agg("case when not passed then check_name end", "', '") }}
            as failed_readiness_checks,
        max(case when check_name = 'customers_with_valid_order' then observed_value end)
            as customers_with_valid_order,
        max(case when check_name = 'history_days' then observed_value end) as history_days,
        max(case when check_name = 'recent_order' then observed_value end)
            as days_since_latest_order,
        max(case when check_name = 'customers_with_3_orders' then observed_value end)
            as customers_with_3_orders
    from readiness
    group by 1
),

models as (
    select
        fit_scope,
        model_name,
        max(case when metric = 'status' then detail end) as status,
        max(case when metric = 'status_detail' then detail end) as status_detail,
        {%- for name in parameters %}
            max(case when metric = '{{ name }}' then value end) as param_{{ name }},
            max(case when metric = '{{ name }}' then std_error end) as param_{{ name }}_std_error,
        {%- endfor %}
        {%- for name in metrics %}
            max(case when metric = '{{ name }}' then value end) as {{ name }},
        {%- endfor %}
        max(case when metric = 'converged' then value end) = 1 as is_converged,
        max(case when metric = 'sampled' then value end) = 1 as is_sampled
    from fit
    where model_name in ('bgnbd', 'pareto_nbd', 'mbgnbd', 'gamma_gamma')
    group by 1, 2
),

final as (
    select
        models.fit_scope,
        models.model_name,
        case when models.model_name = 'gamma_gamma' then 'spend' else 'purchases' end as model_role,
        case
            when models.fit_scope = 'current' then {{ as_of_date() }} else {{ calibration_date() }}
        end
            as fitted_as_of,
        models.status,
        models.status_detail,
        {%- for name in parameters %}
            models.param_{{ name }},
            models.param_{{ name }}_std_error,
        {%- endfor %}
        models.log_likelihood,
        models.is_converged,
        models.penalizer,
        cast(models.fit_seconds as {{ type_double() }}) as fit_seconds,
        cast(models.n_cells as {{ dbt.type_bigint() }}) as n_cells,
        cast(models.n_customers as {{ dbt.type_bigint() }}) as n_customers,
        cast(models.n_customers_fitted as {{ dbt.type_bigint() }}) as n_customers_fitted,
        models.is_sampled,
        models.frequency_spend_correlation,
        deviances.holdout_poisson_deviance,
        models.model_name = chosen.model_name as is_chosen,
        case when models.model_name = chosen.model_name then chosen.choice_reason end
            as choice_reason,
        readiness_summary.is_ready,
        readiness_summary.failed_readiness_checks,
        cast(readiness_summary.customers_with_valid_order as {{ dbt.type_bigint() }})
            as customers_with_valid_order,
        cast(readiness_summary.history_days as {{ dbt.type_bigint() }}) as history_days,
        cast(readiness_summary.days_since_latest_order as {{ dbt.type_bigint() }})
            as days_since_latest_order,
        cast(readiness_summary.customers_with_3_orders as {{ dbt.type_bigint() }})
            as customers_with_3_orders,
        {{ as_of_date() }} as as_of_date,
        {{ var('clv_history_days') }} as history_window_days,
        {{ var('clv_prediction_days') }} as prediction_window_days,
        {{ var('churn_horizon_days') }} as churn_horizon_days,
        '{{ var("clv_time_unit") }}' as time_unit,
        {{ var('clv_backtest_days') }} as backtest_holdout_days
    from models
    inner join readiness_summary
        on models.fit_scope = readiness_summary.fit_scope
    left join deviances
        on
            models.fit_scope = 'backtest'
            and models.model_name = deviances.model
    cross join chosen
)

select * from final
