-- One row per BG/NBD cell of the calibration data: the candidates of the backtest are fitted and
-- scored on these, as the current model is on int_customers_aggregated_to_cells.
with

customers as (
    select
        cell_id,
        frequency,
        recency_days,
        t_days,
        recency,
        t
    from {{ ref('int_clv_backtest_customers_summarized') }}
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
