{#-
    The BG/NBD sufficient statistics per customer as of a clock: one row per customer with a valid
    order within the clv_history_days before it — frequency, recency and T in days and in model time
    units, the cell key and the Gamma-Gamma input. A purchase occasion is a UTC date with at least
    one valid order (several orders on one day are one occasion, as in lifetimes); its value is the
    sum of those orders' net amounts. Orders after the clock are not read, so a model built at the
    backtest's calibration clock cannot see its holdout.

    `customer_days` names the model of valid-order days to read: int_orders_aggregated_to_customer_days
    for the current fit (clock: the as-of date, int_customers_summarized_to_rft), and
    int_clv_backtest_customer_days for the backtest (clock: the calibration date, the orders as
    they stood then; int_clv_backtest_customers_summarized).
-#}
{% macro clv_summarize_to_rft(clock, customer_days='int_orders_aggregated_to_customer_days') -%}
with

purchase_days as (
    select
        customer_id,
        ordered_date,
        purchase_value,
        {{ days_ago('ordered_date', clock) }} as days_ago
    from {{ ref(customer_days) }}
    where n_valid_orders > 0
        and ordered_date <= {{ clock }}
        and {{ days_ago('ordered_date', clock) }} < {{ var('clv_history_days') }}
),

ranked as (
    select
        purchase_days.*,
        row_number() over (partition by customer_id order by ordered_date) as purchase_number
    from purchase_days
),

summarized as (
    select
        customer_id,
        count(*) - 1 as frequency,
        max(days_ago) as t_days,
        max(days_ago) - min(days_ago) as recency_days,
        sum(case when purchase_number > 1 then purchase_value end) as repeat_value,
        count(*) as n_purchase_days
    from ranked
    group by 1
),

final as (
    select
        customer_id,
        {{ dbt.concat(["cast(frequency as " ~ dbt.type_string() ~ ")", "'-'",
                       "cast(recency_days as " ~ dbt.type_string() ~ ")", "'-'",
                       "cast(t_days as " ~ dbt.type_string() ~ ")"]) }} as cell_id,
        frequency,
        recency_days,
        t_days,
        cast(recency_days as {{ type_double() }}) / {{ clv_time_unit_days() }} as recency,
        cast(t_days as {{ type_double() }}) / {{ clv_time_unit_days() }} as t,
        case when frequency > 0 then cast(repeat_value as {{ type_double() }}) / frequency end as monetary_value
    from summarized
)

select * from final
{%- endmacro %}
