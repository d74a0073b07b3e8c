-- One row per model (bg_nbd, gamma_gamma): the "current model card" of Klaviyo's CLV dashboard
-- (seed 002) and more: status, parameters with standard errors, log-likelihood, convergence,
-- sizes, fit time, readiness checks with their values, the as-of date and the windows.
{%- set parameters = ['r', 'alpha', 'a', 'b', 'p', 'q', 'v'] %}
{%- set metrics = ['log_likelihood', 'penalizer', 'fit_seconds', 'n_cells', 'n_customers',
                   'n_customers_fitted', 'frequency_spend_correlation'] %}

with

fit as (
    select * from {{ ref('clv_model_fit') }}
),

readiness as (
    select * from {{ ref('int_clv_readiness_checked') }}
),

readiness_summary as (
    select
        min(case when passed then 1 else 0 end) = 1 as is_ready,
        {{ clv_string_agg("case when not passed then check_name end", "', '") }} as failed_readiness_checks,
        max(case when check_name = 'customers_with_valid_order' then observed_value end)
            as customers_with_valid_order,
        max(case when check_name = 'history_days' then observed_value end) as history_days,
        max(case when check_name = 'recent_order' then observed_value end) as days_since_latest_order,
        max(case when check_name = 'customers_with_3_orders' then observed_value end)
            as customers_with_3_orders
    from readiness
),

models as (
    select
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
    where model_name in ('bg_nbd', 'gamma_gamma')
    group by 1
),

final as (
    select
        models.model_name,
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
        readiness_summary.is_ready,
        readiness_summary.failed_readiness_checks,
        cast(readiness_summary.customers_with_valid_order as {{ dbt.type_bigint() }}) as customers_with_valid_order,
        cast(readiness_summary.history_days as {{ dbt.type_bigint() }}) as history_days,
        cast(readiness_summary.days_since_latest_order as {{ dbt.type_bigint() }}) as days_since_latest_order,
        cast(readiness_summary.customers_with_3_orders as {{ dbt.type_bigint() }}) as customers_with_3_orders,
        {{ as_of_date() }} as as_of_date,
        {{ var('clv_history_days') }} as history_window_days,
        {{ var('clv_prediction_days') }} as prediction_window_days,
        {{ var('churn_horizon_days') }} as churn_horizon_days,
        '{{ var("clv_time_unit") }}' as time_unit
    from models
    cross join readiness_summary
)

select * from final
