-- noqa: disable=LT02
-- (LT02, indentation, is left to a hand reflow: see DECISIONLOG "sqlfluff")
-- One row per backtest forecaster and metric: how each candidate model and naive baseline did on
-- the holdout (the clv_backtest_days after the calibration date), over the customers of the
-- calibration data. Candidates that could not be fitted keep a row per metric with a null value
-- and the reason (history too short to backtest, or the fit failed). README "Model card" defines
-- each metric; clv_backtest_metrics publishes this table.
{%- set metrics = [
    'customers', 'predicted_purchases', 'actual_purchases', 'predicted_revenue', 'actual_revenue',
    'rmse', 'poisson_deviance', 'mae', 'top_decile_revenue_share', 'spearman_revenue', 'churn_brier',
    'interval_coverage', 'interval_expected_coverage', 'next_order_within_14_days',
    'next_order_date_before_clock_share',
] %}
{%- set candidates = ['bgnbd', 'pareto_nbd', 'mbgnbd'] %}

with

scored as (
    select * from {{ ref('int_clv_backtest_customers_scored') }}
),

fit_status as (
    select
        model_name,
        max(case when metric = 'status' then detail end) as status,
        max(case when metric = 'status_detail' then detail end) as status_detail
    from {{ ref('clv_backtest_fit') }}
    where model_name in ({{ clv_sql_list(candidates) }})
    group by 1
),

ranked as (
    select
        scored.*,
        -- position in the forecaster's ranking (ties broken by customer id, so reruns agree)
        row_number() over (
            partition by scored.model order by scored.ranking_score desc, scored.customer_id asc
        ) as score_position,
        count(scored.ranking_score) over (partition by scored.model) as n_ranked,
        -- average ranks (ties share the mean of their positions), for Spearman's correlation
        cast(
            rank() over (partition by scored.model order by scored.ranking_score)
            + (count(*) over (partition by scored.model, scored.ranking_score) - 1) / 2.0
            as decimal(38, 1)
        ) as score_rank,
        cast(
            rank() over (partition by scored.model order by scored.actual_revenue)
            + (count(*) over (partition by scored.model, scored.actual_revenue) - 1) / 2.0
            as decimal(38, 1)
        ) as revenue_rank
    from scored
),

aggregated as (
    select
        model,
        model_kind,
        count(*) as customers,
        {{ clv_exact_sum('predicted_purchases') }} as predicted_purchases,
        sum(actual_purchases) as actual_purchases,
        {{ clv_exact_sum('predicted_revenue') }} as predicted_revenue,
        sum(actual_revenue) as actual_revenue,
        case when count(predicted_purchases) > 0 then
            sqrt({{ clv_exact_avg('power(predicted_purchases - actual_purchases, 2)') }})
        end as rmse,
        -- mean Poisson deviance; undefined (null) when a forecast of zero meets a purchase
        case
            when count(predicted_purchases) > 0
                and sum(case when predicted_purchases <= 0 and actual_purchases > 0 then 1 else 0 end) = 0
                then {{ clv_exact_avg(
                    '2 * (case when actual_purchases > 0 then '
                    ~ 'actual_purchases * ln(actual_purchases / nullif(predicted_purchases, 0)) else 0 end '
                    ~ '- (actual_purchases - predicted_purchases))') }}
        end as poisson_deviance,
        {{ clv_exact_avg('abs(predicted_purchases - actual_purchases)') }} as mae,
        case when count(ranking_score) > 0 and sum(actual_revenue) > 0 then
            sum(case when score_position <= ceil(0.1 * n_ranked) then actual_revenue else 0 end) / sum(actual_revenue)
        end as top_decile_revenue_share,
        -- Pearson's correlation of the average ranks, from exact sums (ranks are halves at worst)
        case when count(ranking_score) > 1 then
            cast(
                (count(*) * sum(score_rank * revenue_rank) - sum(score_rank) * sum(revenue_rank))
                as {{ type_double() }}
            ) / nullif(
                sqrt(cast(
                    count(*) * sum(score_rank * score_rank) - sum(score_rank) * sum(score_rank)
                    as {{ type_double() }}
                ))
                * sqrt(cast(
                    count(*) * sum(revenue_rank * revenue_rank) - sum(revenue_rank) * sum(revenue_rank)
                    as {{ type_double() }}
                )),
                0
            )
        end as spearman_revenue,
        {{ clv_exact_avg('power(churn_probability - case when churned_in_window then 1 else 0 end, 2)') }}
            as churn_brier,
        avg(
            case when purchases_low is not null then
                case
                    when actual_purchases between purchases_low and purchases_high
                        then cast(1 as {{ type_double() }})
                    else 0
                end
            end
        ) as interval_coverage,
        -- what the model itself expects the coverage to be: counts are discrete, so a central 80 %
        -- interval holds 80 % or more of the probability (often far more when most buy nothing)
        {{ clv_exact_avg('interval_probability') }} as interval_expected_coverage,
        -- of the customers who bought in the holdout, the share whose first holdout order fell
        -- within the tolerance of the predicted date (no date predicted: a miss)
        case when model_kind = 'model' or model = 'average_gap' then
            avg(
                case when actual_purchases > 0 then
                    case
                        when predicted_next_order_date is not null
                            and abs({{ dbt.datediff('predicted_next_order_date', 'first_holdout_order_date', 'day') }})
                                <= {{ var('clv_backtest_next_order_tolerance_days') }}
                            then cast(1 as {{ type_double() }})
                        else 0
                    end
                end
            )
        end as next_order_within_14_days,
        -- dates already past at the calibration date cannot trigger a flow before the order
        case when model_kind = 'model' or model = 'average_gap' then
            avg(
                case
                    when predicted_next_order_date is null then null
                    when predicted_next_order_date < {{ calibration_date() }} then cast(1 as {{ type_double() }})
                    else 0
                end
            )
        end as next_order_date_before_clock_share
    from ranked
    group by 1, 2
),

unpivoted as (
    {%- for metric in metrics %}
    select
        model,
        model_kind,
        '{{ metric }}' as metric,
        cast({{ metric }} as {{ type_double() }}) as value
    from aggregated
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

measured as (
    select
        model,
        model_kind,
        metric,
        value,
        'measured' as backtest_status,
        cast(null as {{ dbt.type_string() }}) as status_detail
    from unpivoted
    -- a baseline only has the metrics it forecasts; a candidate keeps every row
    where value is not null or model_kind = 'model'
),

metric_names as (
    {%- for metric in metrics %}
    select '{{ metric }}' as metric
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

not_measured as (
    select
        fit_status.model_name as model,
        'model' as model_kind,
        metric_names.metric,
        cast(null as {{ type_double() }}) as value,
        case when fit_status.status = 'not_ready' then 'history_too_short' else 'fit_failed' end as backtest_status,
        fit_status.status_detail
    from fit_status
    cross join metric_names
    where fit_status.status <> 'fitted'
),

final as (
    select * from measured
    union all
    select * from not_measured
)

select * from final
