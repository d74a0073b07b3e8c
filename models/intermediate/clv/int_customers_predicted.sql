-- One row per customer: Klaviyo's CLV profile fields (historic, predicted, total CLV, churn) as of
-- the as-of date, which the mart customer_predictions publishes: from the purchase model the
-- backtest chose (int_clv_model_chosen) and Gamma-Gamma, with an interval for the predicted orders
-- and a model-based next-order date beside
-- Klaviyo's. Predictive fields are null when the model is not ready or not fitted, or the
-- customer has no valid order in the history window; prediction_status says which.
with

customers as (
    select customer_id from {{ ref('stg_shop__customers') }}
),

history as (
    select * from {{ ref('int_orders_aggregated_to_customers') }}
),

rft as (
    select
        customer_id,
        cell_id,
        frequency,
        monetary_value
    from {{ ref('int_customers_summarized_to_rft') }}
),

cell_predictions as (
    select * from {{ ref('clv_cell_predictions') }}
),

-- which next-order date exports carry (var clv_next_order_date_source; auto: the backtest decides)
date_source as (
    select next_order_date_source from {{ ref('int_clv_model_chosen') }}
),

fit as (
    select
        max(case when model_name = 'clv' and metric = 'purchase_model' then detail end)
            as purchase_model,
        max(
            case
                when
                    model_name in ('bgnbd', 'pareto_nbd', 'mbgnbd') and metric = 'status'
                    then detail
            end
        )
            as purchase_model_status,
        max(case when model_name = 'gamma_gamma' and metric = 'status' then detail end)
            as gamma_gamma_status,
        max(case when model_name = 'gamma_gamma' and metric = 'p' then value end) as gg_p,
        max(case when model_name = 'gamma_gamma' and metric = 'q' then value end) as gg_q,
        max(case when model_name = 'gamma_gamma' and metric = 'v' then value end) as gg_v,
        max(case when model_name = 'clv' and metric = 'discount_factor' then value end)
            as discount_factor
    from {{ ref('clv_model_fit') }}
),

-- Klaviyo falls back on all customers' behaviour for one-time buyers' next order date.
account as (
    select avg(average_days_between_orders) as account_average_days_between_orders
    from history
    where average_days_between_orders is not null
),

scored as (
    select
        customers.customer_id,
        history.historic_clv,
        history.historic_number_of_orders,
        history.average_order_value,
        history.average_days_between_orders,
        history.first_order_at,
        history.last_order_at,
        history.days_since_last_order,
        history.has_valid_order,
        rft.customer_id is not null as is_in_history_window,
        fit.purchase_model,
        fit.purchase_model_status,
        fit.gamma_gamma_status,
        case when fit.purchase_model_status = 'fitted' then cell_predictions.expected_purchases end
            as expected_purchases,
        case when fit.purchase_model_status = 'fitted' then cell_predictions.purchases_low end
            as purchases_low,
        case when fit.purchase_model_status = 'fitted' then cell_predictions.purchases_high end
            as purchases_high,
        case when fit.purchase_model_status = 'fitted' then cell_predictions.probability_alive end
            as probability_alive,
        case when fit.purchase_model_status = 'fitted' then cell_predictions.churn_probability end
            as churn_probability,
        case
            when fit.purchase_model_status = 'fitted' then cell_predictions.days_to_next_purchase
        end
            as days_to_next_purchase,
        case
            when fit.gamma_gamma_status <> 'fitted' or rft.customer_id is null then null
            else
                {{ gamma_gamma_expected_order_value(
                    'fit.gg_p', 'fit.gg_q', 'fit.gg_v', 'rft.frequency', 'rft.monetary_value'
                ) }}
        end as expected_average_order_value,
        fit.discount_factor,
        date_source.next_order_date_source,
        cast(
            round(
                coalesce(
                    history.average_days_between_orders, account.account_average_days_between_orders
                ),
                0
            )
            as {{ dbt.type_int() }}
        ) as days_to_next_order
    from customers
    inner join history
        on customers.customer_id = history.customer_id
    left join rft
        on customers.customer_id = rft.customer_id
    left join cell_predictions
        on rft.cell_id = cell_predictions.cell_id
    cross join fit
    cross join account
    cross join date_source
),

dated as (
    select
        scored.*,
        case
            when scored.has_valid_order and scored.days_to_next_order is not null then
                cast(
                    {{ dbt.dateadd('day', 'days_to_next_order', 'cast(last_order_at as date)') }} as date
                )
        end as expected_date_of_next_order,
        -- the model's date: when P(another order) reaches clv_next_order_probability, if within the window
        cast(
            {{ dbt.dateadd('day', 'cast(round(days_to_next_purchase, 0) as ' ~ dbt.type_int() ~ ')', as_of_date()) }}
            as date
        ) as predicted_next_order_date
    from scored
),

final as (
    select
        customer_id,
        historic_clv,
        -- unrounded, so that CLV tiers compare the exact value; exports round to the cent
        cast(
            expected_purchases
            * expected_average_order_value
            * discount_factor as {{ type_money_unrounded() }}
        )
            as predicted_clv,
        cast(
            historic_clv
            + cast(
                expected_purchases
                * expected_average_order_value
                * discount_factor as {{ type_money_unrounded() }}
            )
            as {{ type_money_unrounded() }}
        ) as total_clv,
        historic_number_of_orders,
        cast(expected_purchases as {{ type_double() }}) as predicted_number_of_orders,
        cast(purchases_low as {{ dbt.type_int() }}) as predicted_number_of_orders_low,
        cast(purchases_high as {{ dbt.type_int() }}) as predicted_number_of_orders_high,
        average_order_value,
        cast(average_days_between_orders as {{ type_double() }}) as average_days_between_orders,
        cast(churn_probability as {{ type_double() }}) as churn_probability,
        case
            when churn_probability is null then null
            when churn_probability < {{ var('churn_risk_low_max') }} then 'low'
            when churn_probability > {{ var('churn_risk_high_min') }} then 'high'
            else 'medium'
        end as churn_risk,
        expected_date_of_next_order,
        predicted_next_order_date,
        case
            when next_order_date_source = 'model' then predicted_next_order_date
            else expected_date_of_next_order
        end as next_order_date,
        next_order_date_source,
        cast(probability_alive as {{ type_double() }}) as probability_alive,
        cast(expected_average_order_value as {{ type_money_unrounded() }})
            as expected_average_order_value,
        first_order_at,
        last_order_at,
        cast(days_since_last_order as {{ dbt.type_int() }}) as days_since_last_order,
        case
            when not has_valid_order then 'no_valid_order'
            when purchase_model_status = 'not_ready' then 'model_not_ready'
            when
                purchase_model_status <> 'fitted' or gamma_gamma_status <> 'fitted'
                then 'model_failed'
            when not is_in_history_window then 'outside_history_window'
            else 'scored'
        end as prediction_status,
        {{ as_of_date() }} as as_of_date,
        {{ var('clv_prediction_days') }} as prediction_window_days,
        purchase_model
    from dated
)

select * from final
