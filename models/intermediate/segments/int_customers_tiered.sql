-- One row per customer: the CLV tier (seed 000) on the var clv_tier_basis and the AOV tier
-- (seed 001) on the historic average order value, from the thresholds in seeds/clv_tiers.csv and
-- seeds/aov_tiers.csv. A customer without a basis value has no tier. Values are compared unrounded
-- (an average order value of 100.0025 is above 100).
with

predictions as (
    select
        customer_id,
        historic_clv,
        predicted_clv,
        total_clv,
        average_order_value
    from {{ ref('int_customers_predicted') }}
),

clv_tiers as (
    select * from {{ ref('clv_tiers') }}
),

aov_tiers as (
    select * from {{ ref('aov_tiers') }}
),

basis as (
    select
        customer_id,
        '{{ var("clv_tier_basis") }}' as clv_tier_basis,
        cast({{ var("clv_tier_basis") }}_clv as {{ type_money_unrounded() }}) as clv_basis_value,
        average_order_value
    from predictions
),

with_clv_tier as (
    select
        basis.customer_id,
        basis.clv_tier_basis,
        basis.clv_basis_value,
        clv_tiers.tier as clv_tier,
        basis.average_order_value
    from basis
    left join clv_tiers
        on {{ value_in_tier('basis.clv_basis_value', 'clv_tiers') }}
),

final as (
    select
        with_clv_tier.customer_id,
        with_clv_tier.clv_tier_basis,
        with_clv_tier.clv_basis_value,
        with_clv_tier.clv_tier,
        with_clv_tier.average_order_value,
        aov_tiers.tier as aov_tier
    from with_clv_tier
    left join aov_tiers
        on {{ value_in_tier('with_clv_tier.average_order_value', 'aov_tiers') }}
)

select * from final
