-- One row: the purchase model the current fit uses (clv_model_fit) and why. Under clv_model: auto
-- (the default) it is the candidate with the lowest mean Poisson deviance on the backtest's holdout;
-- a model named in clv_model is used as forced; when the backtest could not run (history too
-- short, every candidate failed) auto falls back on clv_model_fallback.
with

deviances as (
    select
        model,
        value as poisson_deviance,
        row_number() over (order by value, model) as position,
        count(*) over () as candidates
    from {{ ref('int_clv_backtest_metrics') }}
    where model_kind = 'model'
        and metric = 'poisson_deviance'
        and value is not null
),

best as (
    select * from deviances where position = 1
),

not_run as (
    select {{ clv_string_agg("model || ': ' || coalesce(status_detail, backtest_status)", "'; '") }} as reasons
    from {{ ref('int_clv_backtest_metrics') }}
    where model_kind = 'model'
        and metric = 'poisson_deviance'
        and backtest_status <> 'measured'
),

final as (
    {%- if var('clv_model') != 'auto' %}
    select
        '{{ var('clv_model') }}' as model_name,
        'forced by var clv_model' as choice_reason
    {%- else %}
    select
        coalesce(best.model, '{{ var('clv_model_fallback') }}') as model_name,
        case
            when best.model is not null then
                'chosen by the backtest: lowest holdout Poisson deviance ('
                || cast(round(best.poisson_deviance, 4) as {{ dbt.type_string() }}) || ') of '
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
)

select * from final
