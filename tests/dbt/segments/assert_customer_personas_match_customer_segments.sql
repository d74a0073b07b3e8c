-- customer_personas is a pivot of the persona rows of customer_segments: for every persona, the
-- customers flagged true are exactly its members, and primary_persona is one of them.
-- Fails with (persona, customer_id, problem).
{%- set personas = [] %}
{%- for segment in compile_segment_catalog().segments if segment.kind == 'persona' %}
    {%- do personas.append(segment.name) %}
{%- endfor %}
with

personas as (
    select * from {{ ref('customer_personas') }}
),

members as (
    select
        segment_name,
        customer_id
    from {{ ref('customer_segments') }}
    where segment_kind = 'persona'
),

flagged as (
    {%- for persona in personas %}
        select
            '{{ persona }}' as segment_name,
            customer_id
        from personas
        where {{ persona }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

mismatches as (
    select
        coalesce(flagged.segment_name, members.segment_name) as segment_name,
        coalesce(flagged.customer_id, members.customer_id) as customer_id,
        case
            when members.customer_id is null then 'flagged but not a member'
            else 'member but not flagged'
        end as problem
    from flagged
    full outer join members
        on
            flagged.segment_name = members.segment_name
            and flagged.customer_id = members.customer_id
    where flagged.customer_id is null or members.customer_id is null
),

bad_primary as (
    select
        personas.primary_persona as segment_name,
        personas.customer_id,
        'primary_persona is not one of its personas' as problem
    from personas
    left join members
        on
            personas.primary_persona = members.segment_name
            and personas.customer_id = members.customer_id
    where
        personas.primary_persona <> 'unclassified'
        and members.customer_id is null
)

select * from mismatches
union all
select * from bad_primary
