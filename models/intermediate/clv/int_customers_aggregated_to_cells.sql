-- One row per distinct (frequency, recency, T): a BG/NBD cell with the number of customers in it.
-- BG/NBD sees a customer only through these three numbers, so the Python model fits on the cells
-- with weights and scores each cell once; SQL joins the scores back to the customers.
with

customers as (
    select
        cell_id,
        frequency,
        recency_days,
        t_days,
        recency,
        t
    from {{ ref('int_customers_summarized_to_rft') }}
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
