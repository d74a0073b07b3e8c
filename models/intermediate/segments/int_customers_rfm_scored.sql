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

-- The number of other buyers with a strictly smaller value, counted over the distinct values
-- rather than ranked over every buyer: a window without a partition sends every row to one task
-- on a distributed engine. Values are banded by whole units (floor); the count below each band is
-- a running total over the distinct bands (one row per whole-unit value present: 672 CLV bands
-- for 1,476 buyers on the 2,000-customer shop), the count below a value inside its band a window
-- partitioned by band (DECISIONLOG "RFM scores: counts of smaller values").
measure_values as (
    select
        'orders' as measure,
        historic_number_of_orders as value,
        count(*) as customers
    from history
    group by 1, 2
    union all
    select
        'clv' as measure,
        historic_clv as value,
        count(*) as customers
    from history
    group by 1, 2
),

banded_values as (
    select
        measure,
        value,
        floor(value) as band,
        customers
    from measure_values
),

bands as (
    select
        measure,
        band,
        sum(customers) as customers
    from banded_values
    group by 1, 2
),

below_bands as (
    select
        measure,
        band,
        coalesce(sum(customers) over (
            partition by measure order by band rows between unbounded preceding and 1 preceding
        ), 0) as customers_in_lower_bands
    from bands
),

smaller_values as (
    select
        banded_values.measure,
        banded_values.value,
        below_bands.customers_in_lower_bands
        + coalesce(sum(banded_values.customers) over (
            partition by banded_values.measure, banded_values.band
            order by banded_values.value
            rows between unbounded preceding and 1 preceding
        ), 0) as customers_with_smaller_value
    from banded_values
    inner join below_bands
        on
            banded_values.measure = below_bands.measure
            and banded_values.band = below_bands.band
),

buyers as (
    select count(*) as customers from history
),

ranked as (
    select
        history.customer_id,
        history.days_since_last_order,
        orders_smaller.customers_with_smaller_value as customers_with_fewer_orders,
        clv_smaller.customers_with_smaller_value as customers_with_lower_clv,
        buyers.customers - 1 as other_customers
    from history
    cross join buyers
    left join smaller_values as orders_smaller
        on
            orders_smaller.measure = 'orders'
            and history.historic_number_of_orders = orders_smaller.value
    left join smaller_values as clv_smaller
        on
            clv_smaller.measure = 'clv'
            and history.historic_clv = clv_smaller.value
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
