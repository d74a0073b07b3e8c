-- One row: the purchase model the current fit uses (clv_model_fit) and why. Under clv_model: auto
-- (the default) it is the candidate with the lowest mean Poisson deviance on the backtest's holdout;
-- a model named in clv_model is used as forced; when the backtest could not run (history too
-- short, every candidate failed) auto falls back on clv_model_fallback.
-- Also which next-order date exports carry (customer_predictions.next_order_date): under
-- clv_next_order_date_source: auto (the default), the chosen model's predicted date unless
-- Klaviyo's average gap hit more holdout buyers within the tolerance in the backtest.
with

deviances as (
    select
        model,
        value as poisson_deviance,
        row_number() over (order by value, model) as position,
        count(*) over () as candidates
    from {{ ref('int_clv_backtest_metrics') }}
    where
        model_kind = 'model'
        and metric = 'poisson_deviance'
        and value is not null
),

best as (
    select * from deviances
    where position = 1
),

not_run as (
    select
        {{ clv_string_agg("model || ': ' || coalesce(status_detail, backtest_status)", "'; '") }}
            as reasons
    from {{ ref('int_clv_backtest_metrics') }}
    where
        model_kind = 'model'
        and metric = 'poisson_deviance'
        and backtest_status <> 'measured'
),

chosen as (
    {%- if var('clv_model') != 'auto' %}
    select
        '{{ var('clv_model') }}' as model_name,
        'forced by var clv_model' as choice_reason
    {%- else %}
        select
            coalesce(best.model, '{{ var('clv_model_fallback') }}') as model_name,
            case
                when best.model is not null
                    then
                        'chosen by the backtest: lowest holdout Poisson deviance ('
                        || cast(round(best.poisson_deviance, 4) as {{ dbt.type_string() }})
                        || ') of '
                        || cast(best.candidates as {{ dbt.type_string() }}) || ' candidates'
                else
                    'var clv_model is auto but the backtest did not run ('
                    || coalesce(not_run.reasons, 'no candidate measured')
                    || '): var clv_model_fallback'
            end as choice_reason
        from not_run
        left join best
            on 1 = 1
    {%- endif %}
),

next_order_hits as (
    select
        max(case when metrics.model = chosen.model_name then metrics.value end) as model_hits,
        max(case when metrics.model = 'average_gap' then metrics.value end) as average_gap_hits
    from {{ ref('int_clv_backtest_metrics') }} as metrics
    cross join chosen
    where metrics.metric = 'next_order_within_14_days'
),

final as (
    select
        chosen.model_name,
        chosen.choice_reason,
        {%- if var('clv_next_order_date_source') != 'auto' %}
        '{{ var('clv_next_order_date_source') }}' as next_order_date_source,
        'set by var clv_next_order_date_source' as next_order_date_reason
        {%- else %}
            case
                when
                    next_order_hits.average_gap_hits > next_order_hits.model_hits
                    then 'average_gap'
                else 'model'
            end as next_order_date_source,
            case
                when next_order_hits.model_hits is null or next_order_hits.average_gap_hits is null
                    then
                        'no backtest of the next-order dates: the model''s date, never in the past'
                else
                    'backtest: first holdout order within the tolerance of the date for '
                    || cast(round(100 * next_order_hits.model_hits, 1) as {{ dbt.type_string() }})
                    || ' % of holdout buyers with the model''s date, '
                    || cast(
                        round(100 * next_order_hits.average_gap_hits, 1) as {{ dbt.type_string() }}
                    )
                    || ' % with the average gap'
            end as next_order_date_reason
        {%- endif %}
    from chosen
    cross join next_order_hits
)

select * from final
