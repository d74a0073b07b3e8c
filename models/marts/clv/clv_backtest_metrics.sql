-- One row per backtest forecaster and metric: the model card's evidence. Every run fits the
-- candidate models (bgnbd, pareto_nbd, mbgnbd) as of the calibration date (as_of_date -
-- clv_backtest_days), scores them on what customers did in the holdout since, beside naive
-- baselines and the hindsight ceiling; is_chosen marks the model the current predictions use.
with

metrics as (
    select * from {{ ref('int_clv_backtest_metrics') }}
),

chosen as (
    select model_name from {{ ref('int_clv_model_chosen') }}
),

final as (
    select
        metrics.model,
        metrics.model_kind,
        metrics.metric,
        metrics.value,
        chosen.model_name is not null as is_chosen,
        metrics.backtest_status,
        metrics.status_detail,
        {{ calibration_date() }} as calibration_date,
        {{ as_of_date() }} as as_of_date,
        {{ var('clv_backtest_days') }} as holdout_days
    from metrics
    left join chosen
        on metrics.model = chosen.model_name
)

select * from final
