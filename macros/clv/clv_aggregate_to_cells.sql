{#-
    One row per distinct (frequency, recency, T) of a per-customer summary (clv_summarize_to_rft's
    columns), with the number of customers in it: what a purchase model is fitted and scored on.
    Used by int_customers_aggregated_to_cells (as of the as-of date) and int_clv_backtest_cells
    (as of the calibration date).
-#}
{% macro clv_aggregate_to_cells(customers_model) -%}
with

customers as (
    select
        cell_id,
        frequency,
        recency_days,
        t_days,
        recency,
        t
    from {{ ref(customers_model) }}
),

final as (
    select
        cell_id,
        frequency,
        recency_days,
        t_days,
        recency,
        t,
        count(*) as n_customers
    from customers
    group by 1, 2, 3, 4, 5, 6
)

select * from final
{%- endmacro %}
