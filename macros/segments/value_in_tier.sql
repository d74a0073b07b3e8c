{#- Join condition: a value lies in a tier row of a tier seed (seeds/clv_tiers.csv,
    seeds/aov_tiers.csv). A null bound is open; the *_inclusive flags say whether the bound itself
    belongs to the tier. A null value lies in no tier. -#}
{% macro value_in_tier(value, tier) -%}
    ({{ value }} is not null
        and ({{ tier }}.lower_bound is null
            or {{ value }} > {{ tier }}.lower_bound
            or ({{ tier }}.lower_bound_inclusive and {{ value }} = {{ tier }}.lower_bound))
        and ({{ tier }}.upper_bound is null
            or {{ value }} < {{ tier }}.upper_bound
            or ({{ tier }}.upper_bound_inclusive and {{ value }} = {{ tier }}.upper_bound)))
{%- endmacro %}
