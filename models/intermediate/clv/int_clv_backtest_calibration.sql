-- One row per candidate model and band of predicted churn probability (clv_backtest_calibration_bands
-- bands of equal width): the mean churn probability the model predicted at the calibration date
-- beside the share of those customers who did not buy within the churn window after it. A
-- calibrated model has the two close in every band.
{%- set bands = var('clv_backtest_calibration_bands') | int %}
with

scored as (
    select
        model,
        churn_probability,
        churned_in_window
    from {{ ref('int_clv_backtest_customers_scored') }}
    where
        model_kind = 'model'
        and churn_probability is not null
),

banded as (
    select
        model,
        churn_probability,
        churned_in_window,
        least(cast(floor(churn_probability * {{ bands }}) as {{ dbt.type_int() }}) + 1, {{ bands }})
            as churn_band
    from scored
),

final as (
    select
        model,
        churn_band,
        cast(churn_band - 1 as {{ type_double() }}) / {{ bands }} as band_lower,
        cast(churn_band as {{ type_double() }}) / {{ bands }} as band_upper,
        count(*) as customers,
        {{ clv_exact_avg('churn_probability') }} as mean_predicted_churn,
        avg(case when churned_in_window then cast(1 as {{ type_double() }}) else 0 end) as observed_churn_share
    from banded
    group by 1, 2
)

select * from final
