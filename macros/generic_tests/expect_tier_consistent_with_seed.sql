{#- Fails with the rows whose tier is not the one tier of the threshold seed `tiers` (e.g.
    ref('clv_tiers')) whose interval holds `value_column`: a wrong tier, a value in no tier or in
    several (a gap or an overlap), or a tier without a value. -#}
{% test expect_tier_consistent_with_seed(model, column_name, value_column, tiers) %}
with

assigned as (
    select distinct
        {{ column_name }} as assigned_tier,
        {{ value_column }} as basis_value
    from {{ model }}
),

matched as (
    select
        assigned.assigned_tier,
        assigned.basis_value,
        count(seed_tiers.tier) as n_matching_tiers,
        max(seed_tiers.tier) as seed_tier
    from assigned
    left join {{ tiers }} as seed_tiers
        on {{ value_in_tier('assigned.basis_value', 'seed_tiers') }}
    group by 1, 2
)

select *
from matched
where (basis_value is null and assigned_tier is not null)
    or (basis_value is not null and (
        n_matching_tiers <> 1
        or assigned_tier is null
        or assigned_tier <> seed_tier
    ))
{% endtest %}
