-- One row per customer: Klaviyo's CLV profile fields as of the as-of date. The published
-- projection of int_customers_predicted, which computes them (see there).
with

predicted as (
    select * from {{ ref('int_customers_predicted') }}
),

final as (
    select
        customer_id,
        historic_clv,
        predicted_clv,
        total_clv,
        historic_number_of_orders,
        predicted_number_of_orders,
        predicted_number_of_orders_low,
        predicted_number_of_orders_high,
        average_order_value,
        average_days_between_orders,
        churn_probability,
        churn_risk,
        expected_date_of_next_order,
        predicted_next_order_date,
        next_order_date,
        next_order_date_source,
        probability_alive,
        expected_average_order_value,
        first_order_at,
        last_order_at,
        days_since_last_order,
        prediction_status,
        as_of_date,
        prediction_window_days,
        purchase_model
    from predicted
)

select * from final
