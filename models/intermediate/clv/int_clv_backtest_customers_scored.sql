-- One row per backtest forecaster and calibration customer: what it predicted at the calibration
-- date for the holdout beside what the customer did. Forecasters are the candidate models fitted
-- at the calibration date (bgnbd, pareto_nbd, mbgnbd: clv_backtest_cell_predictions) and naive
-- baselines that need no model:
--   zero         predicts no purchase and no revenue for everyone;
--   past_rate    the customer's past repeat purchase rate (frequency / T) over the holdout, at the
--                customer's mean repeat order value;
--   spend_rank   ranks customers by what they had spent (a ranking, no forecast);
--   average_gap  Klaviyo's expected date of next order (last order + average gap);
--   hindsight    ranks customers by their actual holdout revenue: the ceiling of any ranking.
-- A column a forecaster does not predict is null; int_clv_backtest_metrics scores what is there.
with

observed as (
    select * from {{ ref('int_clv_backtest_holdout_observed') }}
),

customers as (
    select
        customer_id,
        cell_id
    from {{ ref('int_clv_backtest_customers_summarized') }}
),

cell_predictions as (
    select * from {{ ref('clv_backtest_cell_predictions') }}
),

fit as (
    select
        max(case when model_name = 'gamma_gamma' and metric = 'status' then detail end)
            as gamma_gamma_status,
        max(case when model_name = 'gamma_gamma' and metric = 'p' then value end) as gg_p,
        max(case when model_name = 'gamma_gamma' and metric = 'q' then value end) as gg_q,
        max(case when model_name = 'gamma_gamma' and metric = 'v' then value end) as gg_v
    from {{ ref('clv_backtest_fit') }}
),

fitted_models as (
    select distinct model_name
    from {{ ref('clv_backtest_fit') }}
    where
        metric = 'status'
        and detail = 'fitted'
        and model_name in ('bgnbd', 'pareto_nbd', 'mbgnbd')
),

models as (
    select
        cell_predictions.model_name as model,
        'model' as model_kind,
        observed.customer_id,
        cell_predictions.expected_purchases as predicted_purchases,
        cell_predictions.expected_purchases
        * case
            when fit.gamma_gamma_status = 'fitted' then
                    {{ gamma_gamma_expected_order_value('fit.gg_p', 'fit.gg_q', 'fit.gg_v',
                                                         'observed.frequency', 'observed.monetary_value') }}
        end as predicted_revenue,
        cell_predictions.churn_probability,
        cell_predictions.purchases_low,
        cell_predictions.purchases_high,
        cell_predictions.interval_probability,
        cast(
            {{ dbt.dateadd('day', 'cast(round(cell_predictions.days_to_next_purchase, 0) as ' ~ dbt.type_int() ~ ')',
                           calibration_date()) }}
            as date
        ) as predicted_next_order_date
    from observed
    inner join customers
        on observed.customer_id = customers.customer_id
    inner join cell_predictions
        on customers.cell_id = cell_predictions.cell_id
    inner join fitted_models
        on cell_predictions.model_name = fitted_models.model_name
    cross join fit
),

baselines as (
    select
        'zero' as model,
        'baseline' as model_kind,
        customer_id,
        cast(0 as {{ type_double() }}) as predicted_purchases,
        cast(0 as {{ type_double() }}) as predicted_revenue,
        cast(null as {{ type_double() }}) as churn_probability,
        cast(null as {{ type_double() }}) as purchases_low,
        cast(null as {{ type_double() }}) as purchases_high,
        cast(null as {{ type_double() }}) as interval_probability,
        cast(null as date) as predicted_next_order_date
    from observed
    union all
    select
        'past_rate' as model,
        'baseline' as model_kind,
        customer_id,
        case
            when
                t_days > 0
                then
                    cast(frequency as {{ type_double() }}) / t_days * {{ var('clv_backtest_days') }}
            else
                0
        end as predicted_purchases,
        case
            when t_days > 0 and frequency > 0
                then
                    cast(frequency as {{ type_double() }})
                    / t_days
                    * {{ var('clv_backtest_days') }}
                    * monetary_value
            else 0
        end as predicted_revenue,
        null as churn_probability,
        null as purchases_low,
        null as purchases_high,
        null as interval_probability,
        null as predicted_next_order_date
    from observed
    union all
    select
        'average_gap' as model,
        'baseline' as model_kind,
        customer_id,
        null as predicted_purchases,
        null as predicted_revenue,
        null as churn_probability,
        null as purchases_low,
        null as purchases_high,
        null as interval_probability,
        average_gap_next_order_date
    from observed
),

rankings as (
    select
        'spend_rank' as model,
        'baseline' as model_kind,
        customer_id,
        cast(calibration_spend as {{ type_double() }}) as ranking_score
    from observed
    union all
    select
        'hindsight' as model,
        'ceiling' as model_kind,
        customer_id,
        cast(holdout_revenue as {{ type_double() }}) as ranking_score
    from observed
),

forecasts as (
    select
        model,
        model_kind,
        customer_id,
        cast(predicted_purchases as {{ type_double() }}) as predicted_purchases,
        cast(predicted_revenue as {{ type_double() }}) as predicted_revenue,
        -- the forecast ranks customers by the revenue it predicts (the zero forecast ranks nobody)
        case when model <> 'zero' then cast(predicted_revenue as {{ type_double() }}) end
            as ranking_score,
        cast(churn_probability as {{ type_double() }}) as churn_probability,
        cast(purchases_low as {{ type_double() }}) as purchases_low,
        cast(purchases_high as {{ type_double() }}) as purchases_high,
        cast(interval_probability as {{ type_double() }}) as interval_probability,
        predicted_next_order_date
    from models
    union all
    select
        model,
        model_kind,
        customer_id,
        predicted_purchases,
        predicted_revenue,
        case when model <> 'zero' then predicted_revenue end as ranking_score,
        churn_probability,
        purchases_low,
        purchases_high,
        interval_probability,
        predicted_next_order_date
    from baselines
    union all
    select
        model,
        model_kind,
        customer_id,
        null as predicted_purchases,
        null as predicted_revenue,
        ranking_score,
        null as churn_probability,
        null as purchases_low,
        null as purchases_high,
        null as interval_probability,
        null as predicted_next_order_date
    from rankings
),

final as (
    select
        forecasts.model,
        forecasts.model_kind,
        forecasts.customer_id,
        forecasts.predicted_purchases,
        forecasts.predicted_revenue,
        forecasts.ranking_score,
        forecasts.churn_probability,
        forecasts.purchases_low,
        forecasts.purchases_high,
        forecasts.interval_probability,
        forecasts.predicted_next_order_date,
        observed.holdout_purchases as actual_purchases,
        -- money, summed exactly: every forecaster reports the same actual revenue to the last digit
        observed.holdout_revenue as actual_revenue,
        observed.first_holdout_order_date,
        observed.churned_in_window
    from forecasts
    inner join observed
        on forecasts.customer_id = observed.customer_id
)

select * from final
