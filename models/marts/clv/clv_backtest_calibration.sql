-- One row per candidate model and churn band: the churn calibration chart of the model card —
-- mean predicted churn probability at the calibration date beside the share who did not buy.
with

calibration as (
    select * from {{ ref('int_clv_backtest_calibration') }}
),

chosen as (
    select model_name from {{ ref('int_clv_model_chosen') }}
),

final as (
    select
        calibration.model,
        calibration.churn_band,
        calibration.band_lower,
        calibration.band_upper,
        calibration.customers,
        calibration.mean_predicted_churn,
        calibration.observed_churn_share,
        chosen.model_name is not null as is_chosen,
        {{ calibration_date() }} as calibration_date,
        {{ as_of_date() }} as as_of_date
    from calibration
    left join chosen
        on calibration.model = chosen.model_name
)

select * from final
