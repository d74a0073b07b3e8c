-- noqa: disable=LT02
-- (LT02, indentation, is left to a hand reflow: see DECISIONLOG "sqlfluff")
-- One row per customer: every attribute a segment definition may name (the columns with a meta
-- segment_field in _segments__catalog.yml): profile and location, emailability, order history,
-- engagement, predictive CLV fields, tiers and RFM scores. Counts are 0, not null, for customers
-- without events; "days since" fields are null when the thing never happened.
{%- set high_value_aov = var('high_value_aov') %}
with

customers as (
    select
        customer_id,
        has_email,
        accepts_marketing,
        country_code,
        region,
        city,
        created_at
    from {{ ref('stg_shop__customers') }}
),

emailability as (
    select
        customer_id,
        is_emailable,
        is_newsletter_member,
        is_suppressed
    from {{ ref('int_customers_emailability_flagged') }}
),

history as (
    select
        customer_id,
        has_valid_order,
        historic_clv,
        historic_number_of_orders,
        average_order_value,
        average_days_between_orders,
        first_order_at,
        last_order_at,
        days_since_last_order
    from {{ ref('int_orders_aggregated_to_customers') }}
),

engagement as (
    select
        customer_id,
        total_engagements,
        recent_engagements,
        prior_engagements,
        recent_product_interest_events,
        recent_email_clicks,
        engagements_within_dead_weight_days,
        last_engaged_date
    from {{ ref('int_events_aggregated_to_customers') }}
),

predictions as (
    select
        customer_id,
        predicted_clv,
        total_clv,
        predicted_number_of_orders,
        churn_probability,
        churn_risk,
        probability_alive,
        expected_average_order_value,
        expected_date_of_next_order,
        prediction_status
    from {{ ref('int_customers_predicted') }}
),

tiers as (
    select
        customer_id,
        clv_basis_value,
        clv_tier,
        aov_tier
    from {{ ref('int_customers_tiered') }}
),

rfm as (
    select
        customer_id,
        recency_score,
        frequency_score,
        monetary_score,
        rfm_score,
        rfm_group
    from {{ ref('int_customers_rfm_scored') }}
),

-- high value = average order value above var high_value_aov; auto = the account-wide average
-- order value (all valid orders up to the as-of date), unrounded like the customers' averages
high_value as (
    {%- if high_value_aov == 'auto' %}
    select
        {{ divide_money('sum(historic_clv)', 'sum(historic_number_of_orders)') }} as high_value_aov_threshold
    from history
    {%- else %}
    select cast({{ high_value_aov }} as {{ type_money_unrounded() }}) as high_value_aov_threshold
    {%- endif %}
),

final as (
    select
        customers.customer_id,
        customers.has_email,
        customers.accepts_marketing,
        customers.country_code,
        customers.region,
        customers.city,
        {{ days_ago('customers.created_at') }} as days_since_created,
        emailability.is_emailable,
        emailability.is_newsletter_member,
        emailability.is_suppressed,
        history.has_valid_order,
        history.historic_clv,
        history.historic_number_of_orders,
        history.average_order_value,
        history.average_days_between_orders,
        {{ days_ago('history.first_order_at') }} as days_since_first_order,
        history.days_since_last_order,
        high_value.high_value_aov_threshold,
        coalesce(engagement.total_engagements, 0) as total_engagements,
        coalesce(engagement.recent_engagements, 0) as recent_engagements,
        coalesce(engagement.prior_engagements, 0) as prior_engagements,
        coalesce(engagement.recent_product_interest_events, 0) as recent_product_interest_events,
        coalesce(engagement.recent_email_clicks, 0) as recent_email_clicks,
        coalesce(engagement.engagements_within_dead_weight_days, 0) as engagements_within_dead_weight_days,
        {{ days_ago('engagement.last_engaged_date') }}
            as days_since_last_engagement,
        predictions.predicted_clv,
        predictions.total_clv,
        predictions.predicted_number_of_orders,
        predictions.churn_probability,
        predictions.churn_risk,
        predictions.probability_alive,
        predictions.expected_average_order_value,
        {{ dbt.datediff(as_of_date(), 'predictions.expected_date_of_next_order', 'day') }}
            as days_until_expected_next_order,
        predictions.prediction_status,
        tiers.clv_basis_value,
        tiers.clv_tier,
        tiers.aov_tier,
        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        rfm.rfm_score,
        rfm.rfm_group
    from customers
    inner join emailability
        on customers.customer_id = emailability.customer_id
    inner join history
        on customers.customer_id = history.customer_id
    left join engagement
        on customers.customer_id = engagement.customer_id
    left join predictions
        on customers.customer_id = predictions.customer_id
    left join tiers
        on customers.customer_id = tiers.customer_id
    left join rfm
        on customers.customer_id = rfm.customer_id
    cross join high_value
)

select * from final
