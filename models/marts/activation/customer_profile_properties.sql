-- One row per customer of customer_predictions: the profile properties the email platform
-- receives (Klaviyo's CLV fields, rounded as exported: money to the cent, orders to 2 decimals,
-- days to 1, churn to 4) with the email and whether marketing email may be sent. What
-- `clv-segments export` writes, so that exports read the marts only. Holds emails: PII.
with

predicted as (
    select * from {{ ref('int_customers_predicted') }}
),

emailability as (
    select
        customer_id,
        email,
        is_emailable
    from {{ ref('int_customers_emailability_flagged') }}
),

final as (
    select
        predicted.customer_id,
        emailability.email,
        coalesce(emailability.is_emailable, false) as is_emailable,
        cast(predicted.historic_clv as {{ type_money() }}) as historic_clv,
        cast(predicted.predicted_clv as {{ type_money() }}) as predicted_clv,
        cast(predicted.total_clv as {{ type_money() }}) as total_clv,
        predicted.historic_number_of_orders,
        round(predicted.predicted_number_of_orders, 2) as predicted_number_of_orders,
        cast(predicted.average_order_value as {{ type_money() }}) as average_order_value,
        round(predicted.average_days_between_orders, 1) as average_days_between_orders,
        round(predicted.churn_probability, 4) as churn_probability,
        predicted.churn_risk,
        predicted.next_order_date,
        predicted.next_order_date_source,
        predicted.as_of_date
    from predicted
    left join emailability
        on predicted.customer_id = emailability.customer_id
)

select * from final
