-- One row per customer: CLV tier (seed 000) on the var clv_tier_basis and AOV tier (seed 001),
-- from the thresholds in seeds/clv_tiers.csv and seeds/aov_tiers.csv; null without a basis value.
with

tiers as (
    select * from {{ ref('int_customers_tiered') }}
),

final as (
    select
        customer_id,
        clv_tier_basis,
        clv_basis_value,
        clv_tier,
        average_order_value,
        aov_tier,
        {{ as_of_date() }} as as_of_date
    from tiers
)

select * from final
