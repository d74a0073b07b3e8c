-- One row per repeat customer (frequency > 0) in the history window: Gamma-Gamma's input, the
-- number of repeat purchase days and their mean net value. The Python fit reads only this.
with

customers as (
    select
        customer_id,
        frequency,
        monetary_value
    from {{ ref('int_customers_summarized_to_rft') }}
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
