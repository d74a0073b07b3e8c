-- One row per customer with a valid order: Klaviyo's RFM scores and group (DESIGN.md "RFM groups").
-- recency: 3 when the last valid order is within rfm_recency_days[0] (180) days, 2 within
-- rfm_recency_days[1] (365), else 1. frequency (valid orders) and monetary (historic_clv): tertiles
-- of these customers, by the share of the others with a strictly smaller value (under 1/3: 1,
-- under 2/3: 2, else 3), so equal values share a score. Group from seeds/rfm_groups.csv.
{%- set recency_days = var('rfm_recency_days') %}
with

history as (
    select
        customer_id,
        historic_number_of_orders,
        historic_clv,
        days_since_last_order
    from {{ ref('int_orders_aggregated_to_customers') }}
    where has_valid_order
),

rfm_groups as (
    select
        cast(rfm_score as {{ dbt.type_string() }}) as rfm_score,
        rfm_group
    from {{ ref('rfm_groups') }}
),

ranked as (
    select
        customer_id,
        days_since_last_order,
        rank() over (order by historic_number_of_orders) - 1 as customers_with_fewer_orders,
        rank() over (order by historic_clv) - 1 as customers_with_lower_clv,
        count(*) over () - 1 as other_customers
    from history
),

scored as (
    select
        customer_id,
        case
            when days_since_last_order < {{ recency_days[0] }} then 3
            when days_since_last_order < {{ recency_days[1] }} then 2
            else 1
        end as recency_score,
        -- share = customers_with_fewer_orders / other_customers, compared with 1/3 and 2/3 exactly
        1
        + case when 3 * customers_with_fewer_orders >= other_customers then 1 else 0 end
        + case when 3 * customers_with_fewer_orders >= 2 * other_customers then 1 else 0 end
            as frequency_score,
        1
        + case when 3 * customers_with_lower_clv >= other_customers then 1 else 0 end
        + case when 3 * customers_with_lower_clv >= 2 * other_customers then 1 else 0 end
            as monetary_score
    from ranked
),

final as (
    select
        scored.customer_id,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        {{ dbt.concat([
            'cast(scored.recency_score as ' ~ dbt.type_string() ~ ')',
            'cast(scored.frequency_score as ' ~ dbt.type_string() ~ ')',
            'cast(scored.monetary_score as ' ~ dbt.type_string() ~ ')',
        ]) }} as rfm_score,
        rfm_groups.rfm_group
    from scored
    left join rfm_groups
        on {{ dbt.concat([
            'cast(scored.recency_score as ' ~ dbt.type_string() ~ ')',
            'cast(scored.frequency_score as ' ~ dbt.type_string() ~ ')',
            'cast(scored.monetary_score as ' ~ dbt.type_string() ~ ')',
        ]) }} = rfm_groups.rfm_score
)

select * from final
