-- noqa: disable=LT02
-- (LT02, indentation, is left to a hand reflow: see DECISIONLOG "sqlfluff")
-- One row per customer: a boolean per persona of the catalog (DESIGN.md "Personas"; personas
-- overlap) and primary_persona, the first persona the customer belongs to in the catalog's order
-- (DESIGN.md's table, top to bottom), else 'unclassified', for charts that need exclusive groups.
{%- set personas = [] %}
{%- for segment in compile_segment_catalog().segments if segment.kind == 'persona' %}
    {%- do personas.append(segment.name) %}
{%- endfor %}
with

customers as (
    select
        customer_id,
        is_emailable
    from {{ ref('int_customers_emailability_flagged') }}
),

persona_memberships as (
    select
        segment_name,
        customer_id
    from {{ ref('int_customers_segmented') }}
    where segment_kind = 'persona'
),

pivoted as (
    select
        customers.customer_id,
        customers.is_emailable
        {%- for persona in personas %},
        max(case when persona_memberships.segment_name = '{{ persona }}' then 1 else 0 end) = 1 as {{ persona }}
        {%- endfor %}
    from customers
    left join persona_memberships
        on customers.customer_id = persona_memberships.customer_id
    group by 1, 2
),

final as (
    select
        customer_id
        {%- for persona in personas %},
        {{ persona }}
        {%- endfor %},
        case
            {%- for persona in personas %}
            when {{ persona }} then '{{ persona }}'
            {%- endfor %}
            else 'unclassified'
        end as primary_persona,
        is_emailable,
        {{ as_of_date() }} as as_of_date
    from pivoted
)

select * from final
