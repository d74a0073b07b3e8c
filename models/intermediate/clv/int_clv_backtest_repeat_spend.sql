-- One row per repeat customer of the calibration data: the backtest's Gamma-Gamma input.
with

customers as (
    select
        customer_id,
        frequency,
        monetary_value
    from {{ ref('int_clv_backtest_customers_summarized') }}
),

final as (
    select
        customer_id,
        frequency,
        monetary_value
    from customers
    where frequency > 0
)

select * from final
